package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any policy text compiles or is rejected with an error, never
// a panic; a compiled policy evaluates on empty evidence without panicking
// and never passes a rule that reads absent evidence.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"builtin", "testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	e, err := NewEngine()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := e.Parse("f.yaml", data)
		if err != nil {
			return
		}
		g, err := NewGate("", []*Policy{p}, nil)
		if err != nil {
			return
		}
		d := g.Evaluate(&Evidence{})
		for _, r := range d.Rules {
			if len(r.Missing) > 0 && r.Result == Pass {
				t.Fatalf("rule %s passed with missing evidence %v", r.RuleID, r.Missing)
			}
		}
	})
}
