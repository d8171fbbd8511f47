// Package golden compares test output with golden files and generated
// fixtures under testdata/, and rewrites them when a test runs with -update
// (each test package declares its own flag and passes its value). It also
// holds the stable form of scan findings that detector golden files record.
package golden

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
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

// JSON marshals v as indented JSON, ending in a newline, and compares it
// with the file at path like File.
func JSON(tb testing.TB, path string, v any, update bool) {
	tb.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	File(tb, path, append(got, '\n'), update)
}

// Finding is the stable part of a finding that golden files record.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Subject  string `json:"subject,omitempty"`
	Message  string `json:"message"`
}

// Brief returns the stable parts of fs, an empty (not nil) slice when fs
// is empty so that it is recorded as [].
func Brief(fs []mlsec.Finding) []Finding {
	out := []Finding{}
	for _, f := range fs {
		out = append(out, Finding{f.RuleID, f.Severity.String(), f.Subject, f.Message})
	}
	return out
}

// Scan is what a golden file records of one scan: the findings and the
// names of the members handed back through Sink.Nested.
type Scan struct {
	Findings []Finding `json:"findings"`
	Nested   []string  `json:"nested,omitempty"`
}
