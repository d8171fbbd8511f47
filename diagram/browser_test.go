package diagram

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mlsecops/mlsec/internal/testutil/browser"

	"github.com/mlsecops/mlsec/lifecycle"
)

// TestBrowser renders the HTML page of the figure in headless Chromium
// (Debian's chromium; .ci/run installs it) and checks what a reader sees:
// every stage drawn, the accessible name from <title>, and no label
// spilling out of its stage's box with the browser's real font metrics.
// Screenshots go to testdata/out.
func TestBrowser(t *testing.T) {
	ctx := browser.New(t, 1400, 1000)
	dir := t.TempDir()
	figs := map[string]Options{
		"diagram-mlsecops": {},
		"diagram-llmsecops-decisions": {Variant: VariantLLMSecOps,
			Assessment: &lifecycle.Scorecard{Stages: []lifecycle.StageBox{{Stage: "ci", Artifacts: 1, Status: "red", Level: 1, Next: "sign it"}}},
			Decisions:  map[string][]GateDecision{"ci": {{Policy: "builtin/ci", Result: "FAIL", Reasons: []string{"FAIL CI-002: signed by an organisation identity"}}}}},
	}
	for name, o := range figs {
		f, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := HTML(&b, f); err != nil {
			t.Fatal(err)
		}
		page := filepath.Join(dir, name+".html")
		if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var stages, texts int
		var label string
		var spill []string
		var shot []byte
		err = chromedp.Run(ctx,
			chromedp.Navigate("file://"+page),
			chromedp.WaitVisible("#lifecycle"),
			chromedp.Evaluate(`document.querySelectorAll('#lifecycle g.stage').length`, &stages),
			chromedp.Evaluate(`document.querySelectorAll('#lifecycle text').length`, &texts),
			chromedp.Evaluate(`document.getElementById(document.getElementById('lifecycle').getAttribute('aria-labelledby').split(' ')[0]).textContent`, &label),
			// Every text of a stage stays inside the stage's outline
			// (its first rect), measured by the browser.
			chromedp.Evaluate(`(() => { const out = [];
			  for (const g of document.querySelectorAll('#lifecycle g.stage')) {
			    const box = g.querySelector('rect').getBBox();
			    for (const t of g.querySelectorAll('text')) {
			      const b = t.getBBox();
			      if (b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5) out.push(g.dataset.stage + ': ' + t.textContent);
			    }
			  }
			  return out; })()`, &spill),
			chromedp.FullScreenshot(&shot, 100),
		)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "out", name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if want := len(f.Stages); stages != want || texts < 100 {
			t.Errorf("%s: %d stages, %d texts drawn; want %d and 100+", name, stages, texts, want)
		}
		if label != f.Title {
			t.Errorf("%s: accessible name %q, want %q", name, label, f.Title)
		}
		for _, s := range spill {
			t.Errorf("%s: label spills out of its stage: %s", name, s)
		}
	}
}
