// Package fuzzseed seeds fuzz targets with the fixtures in testdata/.
package fuzzseed

import (
	"os"
	"path/filepath"
	"testing"
)

// Files adds the content of every file matching pattern (a filepath.Glob
// pattern) to f's seed corpus, failing the test when a file cannot be read.
func Files(f *testing.F, pattern string) {
	f.Helper()
	names, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}
