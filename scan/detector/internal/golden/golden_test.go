package golden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
)

func TestJSONWritesThenMatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "g.json")
	v := Scan{Findings: Brief([]mlsec.Finding{{RuleID: "X-001", Severity: mlsec.SeverityHigh, Message: "m"}}), Nested: []string{"a"}}
	JSON(t, path, v, true)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "findings": [
    {
      "rule": "X-001",
      "severity": "high",
      "message": "m"
    }
  ],
  "nested": [
    "a"
  ]
}
`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("written file (-want +got):\n%s", diff)
	}
	JSON(t, path, v, false)
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic(r) }
func (r *recorder) Fatal(...any)          { r.failed = true; panic(r) }

func TestJSONMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.json")
	JSON(t, path, []string{"a"}, true)
	for name, call := range map[string]func(tb testing.TB){
		"different": func(tb testing.TB) { JSON(tb, path, []string{"b"}, false) },
		"missing":   func(tb testing.TB) { JSON(tb, path+".none", []string{"a"}, false) },
	} {
		r := &recorder{TB: t}
		func() {
			defer func() {
				if p := recover(); p != nil && p != r {
					panic(p)
				}
			}()
			call(r)
		}()
		if !r.failed {
			t.Errorf("%s: JSON did not fail", name)
		}
	}
}

func TestBriefEmpty(t *testing.T) {
	if got := Brief(nil); got == nil || len(got) != 0 {
		t.Errorf("Brief(nil) = %#v, want an empty slice", got)
	}
}
