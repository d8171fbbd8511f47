// Package golden compares test output with golden files and generated
// fixtures under testdata/, and rewrites them when a test runs with -update
// (each test package declares its own flag and passes its value).
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// File compares got with the content of the file at path. With update it
// writes got there instead, creating the directory. A mismatch is reported
// with a diff when both sides are text, and as differing bytes otherwise.
func File(tb testing.TB, path string, got []byte, update bool) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update)", err)
	}
	if bytes.Equal(want, got) {
		return
	}
	if utf8.Valid(want) && utf8.Valid(got) {
		tb.Errorf("%s mismatch (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
		return
	}
	tb.Errorf("%s differs from what the test generates (run go test -update)", path)
}
