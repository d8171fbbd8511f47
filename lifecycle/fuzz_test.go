package lifecycle

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParsePipeline: any input gives a pipeline or a positioned error,
// never a panic.
func FuzzParsePipeline(f *testing.F) {
	f.Add([]byte(goodPipeline))
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePipeline("f.yaml", data)
		if err == nil && p == nil {
			t.Fatal("nil pipeline without error")
		}
	})
}

func TestExamplePipelineParses(t *testing.T) {
	b, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePipeline("testdata/example.yaml", b); err != nil {
		t.Fatal(err)
	}
}
