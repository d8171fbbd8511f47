package scan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

const baseRules = `
rules:
  - id: BASE-001
    severity: high
    title: base rule
    remediation: none
    mappings: [{framework: owasp-ml-2023, id: ML06}]
`

func TestNewBase(t *testing.T) {
	extra := scan.Rule{ID: "EXTRA-001", Severity: mlsec.SeverityLow, Title: "extra rule", Remediation: "none",
		Mappings: []mlsec.Mapping{{Framework: "owasp-ml-2023", ID: "ML06"}}}
	b := scan.NewBase("fake", []format.Kind{format.Pickle, format.Zip}, []byte(baseRules), extra)
	if got := b.Name(); got != "fake" {
		t.Errorf("Name() = %q, want fake", got)
	}
	kinds := b.Kinds()
	if diff := cmp.Diff([]format.Kind{format.Pickle, format.Zip}, kinds); diff != "" {
		t.Errorf("Kinds() (-want +got):\n%s", diff)
	}
	kinds[0] = format.Unknown
	if got := b.Kinds()[0]; got != format.Pickle {
		t.Errorf("Kinds() shares its slice with callers: got %v after a caller's write", got)
	}
	var ids []string
	for _, r := range b.Rules() {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"BASE-001", "EXTRA-001"}, ids); diff != "" {
		t.Errorf("Rules() ids (-want +got):\n%s", diff)
	}
	if _, ok := b.RuleSet()["EXTRA-001"]; !ok {
		t.Error("RuleSet() lacks the extra rule")
	}
	f := b.Finding("BASE-001", "", "subj", 7)
	want := mlsec.Finding{RuleID: "BASE-001", Severity: mlsec.SeverityHigh, Message: "base rule", Subject: "subj",
		Location: mlsec.Location{Offset: 7}, Mappings: []mlsec.Mapping{{Framework: "owasp-ml-2023", ID: "ML06"}}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("Finding (-want +got):\n%s", diff)
	}
}

// TestNewBaseBadRules: bad rules are refused by ParseRules, and a Base over
// them fails loudly on first use (embedded rules files are checked by tests).
func TestNewBaseBadRules(t *testing.T) {
	for name, yaml := range map[string]string{
		"syntax":       "rules: [",
		"no severity":  "rules:\n  - id: X-1\n    title: t\n    remediation: r\n    mappings: [{framework: f, id: i}]\n",
		"duplicate id": baseRules + "  - id: BASE-001\n    severity: low\n    title: t\n    remediation: r\n    mappings: [{framework: f, id: i}]\n",
	} {
		if _, err := scan.ParseRules([]byte(yaml)); err == nil {
			t.Errorf("%s: ParseRules succeeded, want an error", name)
		}
		b := scan.NewBase("fake", nil, []byte(yaml))
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Rules() over bad rules did not panic", name)
				}
			}()
			b.Rules()
		}()
	}
}
