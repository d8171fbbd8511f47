package list_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/taxonomy"
)

// TestRegistry builds every detector and checks its metadata: unique names,
// at least one format each, rule ids unique across all detectors, and every
// mapping known to the framework catalogues.
func TestRegistry(t *testing.T) {
	ds, err := list.All(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(list.Names()) {
		t.Fatalf("All built %d detectors for %d names", len(ds), len(list.Names()))
	}
	cat, err := taxonomy.Load()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	owner := map[string]string{}
	defs := map[string]scan.Rule{}
	// Detectors may share a rule (the same check on another container), but
	// one id never means two different rules.
	check := func(who string, rules []scan.Rule) {
		for _, r := range rules {
			if prev, ok := defs[r.ID]; ok && !cmp.Equal(prev, r) {
				t.Errorf("rule %s defined differently by %s and %s", r.ID, owner[r.ID], who)
			}
			owner[r.ID], defs[r.ID] = who, r
			for _, m := range r.Mappings {
				if err := cat.Validate(m); err != nil {
					t.Errorf("%s rule %s: %v", who, r.ID, err)
				}
			}
		}
	}
	check("runner", scan.RunnerRules())
	for _, d := range ds {
		if names[d.Name()] {
			t.Errorf("duplicate detector name %s", d.Name())
		}
		names[d.Name()] = true
		if len(d.Kinds()) == 0 {
			t.Errorf("detector %s examines no format", d.Name())
		}
		if len(d.Rules()) == 0 {
			t.Errorf("detector %s has no rules", d.Name())
		}
		check(d.Name(), d.Rules())
	}
}
