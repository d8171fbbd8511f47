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
	if msgs := run(t, func(tb testing.TB) { JSON(tb, path, v, false) }); len(msgs) != 0 {
		t.Errorf("same value: %v", msgs)
	}
}

func TestJSONMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.json")
	JSON(t, path, []string{"a"}, true)
	for name, call := range map[string]func(tb testing.TB){
		"different":   func(tb testing.TB) { JSON(tb, path, []string{"b"}, false) },
		"missing":     func(tb testing.TB) { JSON(tb, path+".none", []string{"a"}, false) },
		"unmarshable": func(tb testing.TB) { JSON(tb, path, func() {}, false) },
	} {
		if msgs := run(t, call); len(msgs) != 1 {
			t.Errorf("%s: JSON reported %v, want one failure", name, msgs)
		}
	}
}

func TestBriefEmpty(t *testing.T) {
	if got := Brief(nil); got == nil || len(got) != 0 {
		t.Errorf("Brief(nil) = %#v, want an empty slice", got)
	}
}
