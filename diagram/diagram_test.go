package diagram

import (
	"bytes"
	"encoding/xml"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/lifecycle"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// xnode is a generic XML element for structural checks.
type xnode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []xnode    `xml:",any"`
}

func (n xnode) attr(k string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == k {
			return a.Value
		}
	}
	return ""
}

func (n xnode) walk(fn func(xnode)) {
	fn(n)
	for _, k := range n.Kids {
		k.walk(fn)
	}
}

// groups returns the groups of a class.
func (n xnode) groups(class string) []xnode {
	var out []xnode
	n.walk(func(x xnode) {
		if x.XMLName.Local == "g" && x.attr("class") == class {
			out = append(out, x)
		}
	})
	return out
}

func title(n xnode) string {
	for _, k := range n.Kids {
		if k.XMLName.Local == "title" {
			return k.Text
		}
	}
	return ""
}

func parseSVG(t *testing.T, b []byte) xnode {
	t.Helper()
	var root xnode
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	return root
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := name
	if !strings.Contains(name, "/") {
		p = filepath.Join("testdata", name)
	}
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./diagram -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./diagram -update rewrites it):\n%s", name, diff)
	}
}

func render(t *testing.T, opts Options) (*Figure, []byte) {
	t.Helper()
	f, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := SVG(&b, f); err != nil {
		t.Fatal(err)
	}
	return f, b.Bytes()
}

// TestCoverageFigure: the default figure, golden and by structure.
func TestCoverageFigure(t *testing.T) {
	// The default figures are the ones README links: docs/figures.
	_, llm := render(t, Options{Variant: VariantLLMSecOps})
	golden(t, "../docs/figures/llmsecops.svg", llm)
	f, b := render(t, Options{})
	golden(t, "../docs/figures/mlsecops.svg", b)
	root := parseSVG(t, b)
	if root.attr("role") != "img" || root.attr("aria-labelledby") != "lifecycle-title lifecycle-desc" {
		t.Errorf("root role %q labelledby %q", root.attr("role"), root.attr("aria-labelledby"))
	}
	var tt, desc string
	for _, k := range root.Kids {
		switch k.XMLName.Local {
		case "title":
			tt = k.Text
		case "desc":
			desc = k.Text
		}
	}
	if !strings.HasPrefix(tt, "MLSecOps lifecycle") || !strings.Contains(desc, "9 stages from planning to monitoring") {
		t.Errorf("title %q desc %q", tt, desc)
	}
	var stages []string
	for _, s := range root.groups("stage") {
		stages = append(stages, s.attr("data-stage"))
		if s.attr("data-status") != string(StatusCovered) || title(s) == "" {
			t.Errorf("stage %s: status %q title %q", s.attr("data-stage"), s.attr("data-status"), title(s))
		}
	}
	if diff := cmp.Diff([]string{"planning", "data", "experimentation", "pipeline", "ci", "cd", "training", "serving", "monitoring"}, stages); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	if n := len(root.groups("handoff")); n != 8 {
		t.Errorf("%d hand-offs between 9 stages, want 8", n)
	}
	// Every rule of every built-in gate is a box; cd has six.
	rules := map[string]int{}
	for _, s := range root.groups("stage") {
		rules[s.attr("data-stage")] = len(s.groups("check"))
	}
	if rules["cd"] != 6 || rules["planning"] != 3 {
		t.Errorf("rule boxes per stage %v, want cd 6, planning 3", rules)
	}
	// Roles: experimentation has the data scientist responsible and the
	// security engineer accountable, each with SSRM actors in the title.
	for _, s := range root.groups("stage") {
		if s.attr("data-stage") != "experimentation" {
			continue
		}
		var got []string
		for _, r := range s.groups("role") {
			got = append(got, r.attr("data-raci")+" "+r.attr("data-role"))
			if !strings.Contains(title(r), "SSRM: ") {
				t.Errorf("role title %q lacks the SSRM actors", title(r))
			}
		}
		if diff := cmp.Diff([]string{"R data-scientist", "A security-engineer"}, got); diff != "" {
			t.Errorf("experimentation roles (-want +got):\n%s", diff)
		}
		var tools []string
		for _, tl := range s.groups("tool") {
			tools = append(tools, tl.attr("data-tool"))
		}
		if !strings.Contains(strings.Join(tools, "|"), "OpenSSF Model Signing") {
			t.Errorf("experimentation tools %v lack OpenSSF Model Signing", tools)
		}
	}
	// Open gaps are drawn where no tool or mlsec closes a control.
	if n := len(root.groups("gap")); n == 0 {
		t.Error("no open gap drawn")
	}
	// Words are text, never outlines: the only path is the arrow marker.
	paths, texts := 0, 0
	root.walk(func(x xnode) {
		switch x.XMLName.Local {
		case "path":
			paths++
		case "text":
			texts++
			if strings.TrimSpace(x.Text) == "" {
				t.Error("empty text element")
			}
		}
	})
	if paths != 1 || texts < 100 {
		t.Errorf("%d paths, %d texts; want 1 (the arrow head) and 100+", paths, texts)
	}
	if f.Colouring != "coverage" {
		t.Errorf("colouring %q", f.Colouring)
	}
}

// TestDecisionFigure: decisions colour the gates and rules; a reason line
// per rule colours each rule; the assessment gives stage colours and
// maturity badges; llmsecops adds knowledge after data.
func TestDecisionFigure(t *testing.T) {
	sc := &lifecycle.Scorecard{Stages: []lifecycle.StageBox{
		{Stage: "ci", Gated: true, Artifacts: 2, Passed: 1, Status: "amber", Level: 1, Next: "m: record signed provenance — AIMM L2"},
		{Stage: "cd", Gated: true, Artifacts: 1, Passed: 1, Status: "green", Level: 3},
	}}
	_, b := render(t, Options{Variant: VariantLLMSecOps, Assessment: sc, Decisions: map[string][]GateDecision{
		"ci": {{Policy: "builtin/ci@1.0.0", Result: "FAIL", Reasons: []string{"PASS CI-001: scans clean", "FAIL CI-002: signed <by> \"org\" & co", "WARN CI-004: the evaluation passed"}}},
		"cd": {{Policy: "builtin/cd@1.1.0", Result: "PASS"}},
	}})
	golden(t, "llmsecops-decisions.svg", b)
	root := parseSVG(t, b)
	var stages []string
	status := map[string]string{}
	for _, s := range root.groups("stage") {
		stages = append(stages, s.attr("data-stage"))
		status[s.attr("data-stage")] = s.attr("data-status")
	}
	if len(stages) != 10 || stages[2] != "knowledge" {
		t.Errorf("llmsecops stages %v: want ten with knowledge third", stages)
	}
	if status["ci"] != "warn" || status["cd"] != "pass" || status["data"] != "none" {
		t.Errorf("stage statuses %v: want ci warn (amber box), cd pass, data none", status)
	}
	rules := map[string]string{}
	for _, c := range root.groups("check") {
		rules[c.attr("data-rule")] = c.attr("data-status")
	}
	want := map[string]string{"CI-001": "pass", "CI-002": "fail", "CI-003": "fail", "CI-004": "warn", "CD-001": "pass", "DATA-001": "none"}
	for id, w := range want {
		if rules[id] != w {
			t.Errorf("rule %s: %q, want %q", id, rules[id], w)
		}
	}
	var levels []string
	for _, m := range root.groups("maturity") {
		levels = append(levels, m.attr("data-level"))
	}
	if diff := cmp.Diff([]string{"1", "3"}, levels); diff != "" {
		t.Errorf("maturity badges (-want +got):\n%s", diff)
	}
	if bytes.Contains(b, []byte("<by>")) || !bytes.Contains(b, []byte("&lt;by&gt;")) {
		t.Error("reason text not escaped")
	}
}

func TestVariantRefused(t *testing.T) {
	if _, err := Build(Options{Variant: "devsecops"}); err == nil {
		t.Error("unknown variant accepted")
	}
}

// TestPNG: the raster has the scene's size times the scale, a white
// background and the green of a stage header where the layout puts it.
func TestPNG(t *testing.T) {
	f, err := Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := PNG(&b, f, 1); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	_, w, h := scene(f)
	if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Errorf("PNG %v, want %dx%d", img.Bounds(), w, h)
	}
	at := func(x, y int) [3]uint32 {
		r, g, bl, _ := img.At(x, y).RGBA()
		return [3]uint32{r >> 8, g >> 8, bl >> 8}
	}
	if got := at(2, 2); got != [3]uint32{255, 255, 255} {
		t.Errorf("background %v, want white", got)
	}
	// Inside the first stage's header, right of its text: #2e7d32.
	if got := at(margin+colW-60, margin+titleH+36); got != [3]uint32{0x2e, 0x7d, 0x32} {
		t.Errorf("planning header %v, want green", got)
	}
	if err := PNG(&b, f, 0); err == nil {
		t.Error("scale 0 accepted")
	}
}

func TestHTML(t *testing.T) {
	f, err := Build(Options{Variant: VariantLLMSecOps})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := HTML(&b, f); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg" id="lifecycle"`, `<tr data-stage="knowledge">`, "KNOW-001", "SSRM MP"} {
		if !strings.Contains(s, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
