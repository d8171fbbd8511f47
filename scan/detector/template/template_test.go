package template

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// TestGolden detects every fixture by content (and name for
// chat_template.jinja), scans it and compares the findings with
// testdata/golden.json: clean-* files have none, the others are flagged.
func TestGolden(t *testing.T) {
	d := sinktest.Detector(t, New)
	files, _ := filepath.Glob("testdata/*.json")
	jinja, _ := filepath.Glob("testdata/*/chat_template.jinja")
	files = append(files, jinja...)
	got := map[string][]mlsec.Finding{}
	for _, name := range files {
		if strings.HasSuffix(name, "golden.json") {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		kind, err := format.DetectFile(name, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		want := format.HFTokenizerConfig
		if strings.HasSuffix(name, ".jinja") {
			want = format.ChatTemplate
		}
		if kind != want {
			t.Errorf("%s detected as %s, want %s", name, kind, want)
		}
		s := sinktest.New(t)
		in := &scan.Input{Path: name, R: bytes.NewReader(data), Size: int64(len(data)), Kind: kind}
		if err := d.Scan(context.Background(), in, s); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel("testdata", name)
		clean := strings.HasPrefix(rel, "clean")
		if clean != (len(s.Findings) == 0) {
			t.Errorf("%s: %d findings", rel, len(s.Findings))
		}
		if strings.HasPrefix(rel, "malicious") && mlsec.MaxSeverity(s.Findings) != mlsec.SeverityCritical {
			t.Errorf("%s: max severity %s, want critical", rel, mlsec.MaxSeverity(s.Findings))
		}
		got[filepath.ToSlash(rel)] = s.Findings
	}
	golden.JSON(t, "testdata/golden.json", got, *update)
}

// Plain JSON without chat_template, and a .jinja file of another name, are
// not templates.
func TestNotDetected(t *testing.T) {
	for name, data := range map[string]string{
		"config.json": `{"model_type": "llama", "template": "{{ x.__class__ }}"}`,
		"nested.json": `{"a": {"chat_template": "x"}}`,
		"other.jinja": `{{ x.__class__ }}`,
		"templates/additional_chat_templates.jinja":    `{{ x.__class__ }}`,
		"additional_chat_templates/sub/tool_use.jinja": `{{ x.__class__ }}`,
	} {
		k, err := format.DetectFile(name, strings.NewReader(data), int64(len(data)))
		if err != nil || k == format.HFTokenizerConfig || k == format.ChatTemplate {
			t.Errorf("%s: detected as %s (%v)", name, k, err)
		}
	}
}

// Named templates that transformers saves as
// additional_chat_templates/NAME.jinja are templates too, also inside
// archives.
func TestAdditionalTemplates(t *testing.T) {
	d := sinktest.Detector(t, New)
	for _, name := range []string{
		"repo/additional_chat_templates/tool_use.jinja",
		"repo.tar!repo/additional_chat_templates/rag.jinja",
	} {
		data := `{{ cycler.__init__.__globals__.os.popen('id').read() }}`
		k, err := format.DetectFile(name, strings.NewReader(data), int64(len(data)))
		if err != nil || k != format.ChatTemplate {
			t.Fatalf("%s: detected as %s (%v), want %s", name, k, err, format.ChatTemplate)
		}
		s := sinktest.New(t)
		if err := d.Scan(context.Background(), &scan.Input{Path: name, R: strings.NewReader(data), Size: int64(len(data)), Kind: k}, s); err != nil {
			t.Fatal(err)
		}
		if got := mlsec.MaxSeverity(s.Findings); got != mlsec.SeverityCritical {
			t.Errorf("%s: max severity %s, want critical", name, got)
		}
	}
}

func TestRules(t *testing.T) {
	d, _ := New(scan.DefaultConfig())
	set := scan.NewRuleSet(d.Rules())
	for k, id := range ruleFor {
		if _, ok := set[id]; !ok {
			t.Errorf("kind %s: rule %s missing", k, id)
		}
	}
	if _, ok := set[RuleMalformed]; !ok {
		t.Error("malformed rule missing")
	}
}
