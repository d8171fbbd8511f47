package agent_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/scan/detector/agent"
)

// FuzzCheckDocument runs the whole manifest check on arbitrary bytes: it
// never panics.
func FuzzCheckDocument(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	c := agent.NewChecker()
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = c.CheckDocument(b)
	})
}
