package server

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mlsecops/mlsec/internal/testutil/browser"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/store"
)

// screenshotDir is where TestDashboard writes its screenshots: a
// git-ignored directory, so they can be looked at after a run.
const screenshotDir = "testdata/out"

// seedDashboard fills the store through the API: a malicious and a clean
// upload with scans and gates, provenance lineage, and a running hub scan.
func seedDashboard(t *testing.T, e *env, k testKey) (evil, clean store.Digest, hubID int64) {
	t.Helper()
	admin := store.RoleAdmin
	if s, b, _ := e.do(admin, "POST", "/api/v1/uploads?name=evil.pkl&kind=model&scan=true", bytes.NewReader(maliciousPickle()), ""); s != 201 {
		t.Fatalf("upload: %d %s", s, b)
	}
	evil, clean = digestOf(maliciousPickle()), digestOf(cleanSafetensors())
	if s, b, _ := e.do(admin, "POST", "/api/v1/uploads?name=bert-finetuned.safetensors&kind=model&version=v2&scan=true", bytes.NewReader(cleanSafetensors()), ""); s != 201 {
		t.Fatalf("upload: %d %s", s, b)
	}
	e.json(admin, "POST", "/api/v1/artifacts/"+string(evil)+"/gate", GateRequest{Stage: "experimentation"}, nil)
	dataset, base := fakeDigest('5'), fakeDigest('6')
	for _, b := range [][]byte{k.signModel(t, "bert-finetuned.safetensors", cleanSafetensors()), k.signStatement(t, trainingProvenance(t, clean, dataset))} {
		if s, b, _ := e.do(admin, "POST", "/api/v1/attestations", bytes.NewReader(b), ""); s != 201 {
			t.Fatalf("attestation: %d %s", s, b)
		}
	}
	for _, st := range []string{"experimentation", "ci", "cd"} {
		e.json(admin, "POST", "/api/v1/artifacts/"+string(clean)+"/gate", GateRequest{Stage: st}, nil)
	}
	e.json(admin, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(dataset), Name: "support-tickets", Kind: "dataset", Source: "s3://corp/tickets"}, nil)
	e.json(admin, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(base), Name: "bert-base", Kind: "model", Source: "hf://google-bert/bert-base-uncased"}, nil)
	if s, b, _ := e.do(admin, "POST", "/api/v1/attestations", bytes.NewReader(provenanceStatement(t, clean, dataset, base)), ""); s != 201 {
		t.Fatalf("attestation: %d %s", s, b)
	}
	bom, err := attest.BOMStatement(attest.Subject{Name: "bert-finetuned.safetensors", Digest: attest.Digest(clean)},
		[]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[`+
			`{"type":"machine-learning-model","name":"bert-finetuned","version":"v2"},`+
			`{"type":"data","name":"support-tickets","version":"2026-01"},`+
			`{"type":"library","name":"transformers","version":"4.44.0"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, b, _ := e.do(admin, "POST", "/api/v1/attestations", bytes.NewReader(bom), ""); s != 201 {
		t.Fatalf("BOM attestation: %d %s", s, b)
	}
	hs, err := e.st.CreateHubScan(context.Background(), "/mirror/hf", []string{"org/a", "org/b", "org/c", "org/d"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"org/a", "org/b"} {
		if err := e.st.CompleteHubScanItem(context.Background(), hs.ID, p, store.ItemResult{Artifact: clean}); err != nil {
			t.Fatal(err)
		}
	}
	return evil, clean, hs.ID
}

// TestDashboard drives the dashboard in headless Chromium: sign in, the
// lifecycle diagram with coloured gates, the artifact page, live hub-scan
// progress through htmx, coverage and maturity. Screenshots go to
// testdata/out.
func TestDashboard(t *testing.T) {
	ctx := browser.New(t, 1280, 1000)
	k := newTestKey(t)
	e := newEnv(t, withKey(k))
	evil, clean, hubID := seedDashboard(t, e, k)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}

	base := e.http.URL
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(screenshotDir, name+".png"), buf, 0o644)
		})
	}
	count := func(sel string, n *int) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var nodes []*cdp.Node
			if err := chromedp.Nodes(sel, &nodes, chromedp.AtLeast(0)).Do(ctx); err != nil {
				return err
			}
			*n = len(nodes)
			return nil
		})
	}

	// submit clicks a button that navigates and waits for the new page to
	// load, so later queries see the new document.
	submit := func(sel string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			loaded := make(chan struct{}, 1)
			lctx, stop := context.WithCancel(ctx)
			defer stop()
			chromedp.ListenTarget(lctx, func(ev any) {
				if _, ok := ev.(*page.EventLoadEventFired); ok {
					select {
					case loaded <- struct{}{}:
					default:
					}
				}
			})
			if err := chromedp.Click(sel, chromedp.ByQuery).Do(ctx); err != nil {
				return err
			}
			select {
			case <-loaded:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}

	// Unauthenticated: the dashboard redirects to the sign-in form.
	var loc string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/artifacts"), chromedp.WaitVisible("#login-form"), chromedp.Location(&loc)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/login?next=") {
		t.Fatalf("unauthenticated page went to %s", loc)
	}
	// A wrong token is refused; the right one signs in and returns to next.
	var msg string
	if err := chromedp.Run(ctx,
		chromedp.SendKeys("#token", "mlsec_wrong"), submit("#login-submit"),
		chromedp.WaitVisible("#login-error"), chromedp.Text("#login-error", &msg),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "invalid") {
		t.Fatalf("login error %q", msg)
	}
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/login?next="+url.QueryEscape("/artifacts")),
		chromedp.SendKeys("#token", e.tokens[store.RoleAuditor]), submit("#login-submit"),
		chromedp.WaitVisible("#artifacts"), chromedp.Location(&loc),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/artifacts") {
		t.Fatalf("after login: %s", loc)
	}
	var rows int
	if err := chromedp.Run(ctx, count("#artifacts tr", &rows), shot("artifacts")); err != nil {
		t.Fatal(err)
	}
	if rows != 5 { // header + 4 artifacts
		t.Errorf("artifact table has %d rows, want 5", rows)
	}

	// Lifecycle diagram for the fine-tuned model: ten stages;
	// experimentation passes (green), ci warns (amber: no evaluation, no
	// BOM), cd released it, the rest have no decision (grey).
	var stages, green, amber, grey int
	var htmxLoaded bool
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/?artifact="+string(clean)),
		chromedp.WaitVisible("#lifecycle"),
		count("#lifecycle g.stage", &stages),
		count(`#lifecycle g.gate[data-status="pass"]`, &green),
		count(`#lifecycle g.gate[data-status="warn"]`, &amber),
		count(`#lifecycle g.gate[data-status="none"]`, &grey),
		chromedp.Evaluate(`typeof htmx !== "undefined" && typeof htmx.version === "string"`, &htmxLoaded),
		shot("lifecycle"),
	); err != nil {
		t.Fatal(err)
	}
	// The same figure as mlsec diagram: rules, roles and tools per stage.
	var rules, roles, tools int
	if err := chromedp.Run(ctx,
		count(`#lifecycle g.check`, &rules),
		count(`#lifecycle g.stage[data-stage="cd"] g.role[data-raci="A"][data-role="model-owner"]`, &roles),
		count(`#lifecycle g.tool`, &tools),
	); err != nil {
		t.Fatal(err)
	}
	if rules < 30 || roles != 1 || tools < 10 {
		t.Errorf("lifecycle figure: %d rule boxes, %d cd accountable model-owner, %d tool pills; want 30+, 1, 10+", rules, roles, tools)
	}
	if stages != 10 || green+amber != 3 || amber < 1 || grey != 7 {
		t.Errorf("lifecycle: %d stages, %d green, %d amber, %d grey gates; want 10, 3 green or amber (ci amber), 7 grey", stages, green, amber, grey)
	}
	if !htmxLoaded {
		t.Error("the vendored htmx did not load")
	}
	var ciStatus, expStatus string
	if err := chromedp.Run(ctx,
		chromedp.AttributeValue(`#lifecycle g.stage[data-stage="ci"]`, "data-status", &ciStatus, nil),
		chromedp.AttributeValue(`#lifecycle g.stage[data-stage="experimentation"]`, "data-status", &expStatus, nil),
	); err != nil {
		t.Fatal(err)
	}
	if ciStatus != "warn" || expStatus != "pass" {
		t.Errorf("ci stage %q, experimentation stage %q; want warn, pass", ciStatus, expStatus)
	}

	// Lifecycle diagram for the malicious pickle: experimentation is red.
	var red int
	var evilExp string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/?artifact="+string(evil)),
		chromedp.WaitVisible("#lifecycle"),
		count(`#lifecycle g.gate[data-status="fail"]`, &red),
		chromedp.AttributeValue(`#lifecycle g.stage[data-stage="experimentation"]`, "data-status", &evilExp, nil),
		shot("lifecycle-evil"),
	); err != nil {
		t.Fatal(err)
	}
	if red != 1 || evilExp != "fail" {
		t.Errorf("lifecycle of evil.pkl: %d red gates, experimentation %q; want 1, fail", red, evilExp)
	}

	// Artifact page of the malicious pickle: critical findings, red gate,
	// no signature.
	var title, findings, state, sig string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/artifacts/"+string(evil)),
		chromedp.WaitVisible("#findings"),
		chromedp.Text("#artifact-title", &title),
		chromedp.Text("#findings", &findings),
		chromedp.Text("#trust-state", &state),
		chromedp.Text("#signature", &sig),
		shot("artifact-evil"),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "evil.pkl") || state != "quarantined" || !strings.Contains(findings, "critical") || !strings.Contains(sig, "no signature") {
		t.Errorf("evil artifact page: title %q state %q findings %q signature %q", title, state, findings, sig)
	}
	// Artifact page of the fine-tuned model: provenance, lineage graph with
	// its two inputs, trust-state history.
	var prov, hist, bomText string
	var nodes, edges int
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/artifacts/"+string(clean)),
		chromedp.WaitVisible("#lineage svg"),
		count("#lineage svg g.node", &nodes),
		count("#lineage svg g.edge", &edges),
		chromedp.Text("#provenance", &prov),
		chromedp.Text("#history", &hist),
		chromedp.Text("#bom", &bomText),
		shot("artifact-model"),
	); err != nil {
		t.Fatal(err)
	}
	if nodes != 3 || edges != 2 { // the model, its dataset and base model
		t.Errorf("lineage graph: %d nodes, %d edges; want 3, 2", nodes, edges)
	}
	if !strings.Contains(bomText, "CycloneDX 1.6") || !strings.Contains(bomText, "transformers") || !strings.Contains(bomText, "machine-learning-model") {
		t.Errorf("AI-BOM section %q; want the CycloneDX 1.6 BOM with its components", bomText)
	}
	if !strings.Contains(prov, "training") || !strings.Contains(prov, "dataset: corpus") || !strings.Contains(hist, "released") {
		t.Errorf("provenance %q history %q", prov, hist)
	}

	// Hub scan progress updates live: htmx polls the progress fragment.
	var status string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/hubscans/%d", base, hubID)),
		chromedp.WaitVisible("#progress"),
		chromedp.Text("#hub-status", &status),
	); err != nil {
		t.Fatal(err)
	}
	if status != "running" {
		t.Fatalf("hub scan status %q", status)
	}
	for _, p := range []string{"org/c", "org/d"} {
		if err := e.st.CompleteHubScanItem(context.Background(), hubID, p, store.ItemResult{Error: "unreadable"}); err != nil {
			t.Fatal(err)
		}
	}
	var items string
	if err := chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector("#hub-status") && document.querySelector("#hub-status").textContent === "done"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text("#items", &items),
		shot("hubscan"),
	); err != nil {
		t.Fatalf("hub scan progress did not update through htmx: %v", err)
	}
	// The item table is refreshed with the progress, not left "pending".
	if strings.Contains(items, "pending") || strings.Count(items, "failed") != 2 || !strings.Contains(items, "unreadable") {
		t.Errorf("hub scan items not refreshed with the progress: %q", items)
	}

	// Coverage and maturity.
	var covRows, matRows int
	var cov string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/coverage"), chromedp.WaitVisible("#coverage-summary"),
		count("#coverage-summary tr", &covRows), chromedp.Text("#coverage-summary", &cov), shot("coverage"),
		chromedp.Navigate(base+"/maturity"), chromedp.WaitVisible("#maturity"),
		count("#maturity tr", &matRows), shot("maturity"),
	); err != nil {
		t.Fatal(err)
	}
	if covRows < 6 || !strings.Contains(cov, "OWASP") {
		t.Errorf("coverage summary: %d rows %q", covRows, cov)
	}
	// Per stage: the level each stage reaches and the next step, in a table
	// and on the lifecycle figure (the per-stage assessment of mlsec assess).
	var stageRows, badges int
	var cdLevel, ciNext string
	if err := chromedp.Run(ctx,
		count("#stage-maturity tr", &stageRows),
		count("#maturity-figure g.maturity", &badges),
		chromedp.Text(`#stage-maturity tr[data-stage="cd"] td:nth-child(5)`, &cdLevel),
		chromedp.Text(`#stage-maturity tr[data-stage="experimentation"] td:nth-child(6)`, &ciNext),
	); err != nil {
		t.Fatal(err)
	}
	if stageRows != 11 || badges < 1 || !strings.HasPrefix(cdLevel, "L") {
		t.Errorf("stage maturity: %d rows (want 11), %d badges on the figure (want 1+), cd level %q", stageRows, badges, cdLevel)
	}
	t.Logf("experimentation next step: %q", ciNext)
	if matRows != 3 { // header + dataset + model
		t.Errorf("maturity table has %d rows, want 3", matRows)
	}
}
