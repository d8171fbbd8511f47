// Package golden compares detector test results with golden files under
// testdata/ and rewrites the files when a test runs with -update (each test
// package declares its own flag and passes its value).
package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
)

// JSON marshals v as indented JSON and compares it with the file at path.
// With update it writes the file instead, creating its directory.
func JSON(tb testing.TB, path string, v any, update bool) {
	tb.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	got = append(got, '\n')
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
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("golden %s mismatch (-want +got):\n%s", path, diff)
	}
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
