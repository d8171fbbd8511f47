package aibom_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/aibom"
)

// FuzzDecode feeds arbitrary documents to the CycloneDX decoders (which
// also collect model card properties) and to the validator: errors are
// fine, panics are not. Seeds are large (whole BOMs): run with
// -fuzzminimizetime bounded, as .ci/run does.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.cdx-1.6.*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	v := aibom.NewValidator()
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
			_, _ = aibom.DecodeXML(b)
			return
		}
		_, _ = aibom.DecodeJSON(b)
		_, _, _ = v.Validate(b)
	})
}
