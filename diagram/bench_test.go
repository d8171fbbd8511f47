package diagram

import (
	"testing"

	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
)

// BenchmarkBuild compiles every stage gate, as mlsec diagram does.
func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		if _, err := Build(Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildCompiled hands in compiled gates, as the server does.
func BenchmarkBuildCompiled(b *testing.B) {
	eng, err := policy.NewEngine()
	if err != nil {
		b.Fatal(err)
	}
	gates := map[string]*policy.Gate{}
	for _, s := range lifecycle.StageNames() {
		if gates[s], err = eng.StageGate(s, nil, ""); err != nil {
			b.Fatal(err)
		}
	}
	opts := Options{GateOf: func(s string) (*policy.Gate, error) { return gates[s], nil }}
	for b.Loop() {
		if _, err := Build(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSVG writes the SVG of a built figure.
func BenchmarkSVG(b *testing.B) {
	f, err := Build(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = SVGString(f)
	}
}
