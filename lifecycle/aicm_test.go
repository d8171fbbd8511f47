package lifecycle_test

import (
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/taxonomy"
)

// TestAICMMappingsExist checks every CSA AICM id mlsec maps to: the scanner
// crosswalk, the tools catalogue's controls and the personas' SSRM actors.
// Gate rules are checked with the other frameworks by the policy tests.
func TestAICMMappingsExist(t *testing.T) {
	cat, err := taxonomy.Load()
	if err != nil {
		t.Fatal(err)
	}
	kind := func(id string) string {
		it, ok := cat.Lookup(taxonomy.CSAAICM, id)
		if !ok {
			return ""
		}
		return it.Kind
	}
	cw, err := lifecycle.LoadAICMCrosswalk()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cw.Scanner {
		for _, id := range p.Controls {
			if kind(id) != "control" {
				t.Errorf("crosswalk prefix %q: %q is not an AICM control", p.Prefix, id)
			}
		}
	}
	tc, err := lifecycle.LoadTools()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tc.Controls {
		aicm := 0
		for _, m := range c.Mappings {
			if err := cat.Validate(m); err != nil {
				t.Errorf("tools control %s: %v", c.ID, err)
			}
			if m.Framework == taxonomy.CSAAICM {
				aicm++
			}
		}
		if aicm == 0 {
			t.Errorf("tools control %s maps no AICM control", c.ID)
		}
	}
	r, err := lifecycle.LoadRACI()
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range r.Roles {
		for _, a := range role.SSRM {
			if kind(a) != "actor" {
				t.Errorf("role %s: SSRM %q is not an AICM actor", role.ID, a)
			}
		}
	}
	// A made-up id is refused: the check above can fail.
	if err := cat.Validate(mlsec.Mapping{Framework: taxonomy.CSAAICM, ID: "MDS-99"}); err == nil {
		t.Error("MDS-99 validated")
	}
}

// TestAICMScannerCrosswalk: every scanner rule implements at least one AICM
// control beyond the catch-all, and every prefix matches some rule (no
// stale entries).
func TestAICMScannerCrosswalk(t *testing.T) {
	cw, err := lifecycle.LoadAICMCrosswalk()
	if err != nil {
		t.Fatal(err)
	}
	dets, err := list.All(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rules := scan.RunnerRules()
	for _, d := range dets {
		rules = append(rules, d.Rules()...)
	}
	used := map[string]bool{}
	for _, r := range rules {
		ms := cw.ScannerMappings(r.ID)
		if len(ms) < 2 {
			t.Errorf("scanner rule %s maps only %v: add its detector's prefix to data/aicm-scanner.yaml", r.ID, ms)
		}
		for _, p := range cw.Scanner {
			if strings.HasPrefix(r.ID, p.Prefix) {
				used[p.Prefix] = true
			}
		}
	}
	for _, p := range cw.Scanner {
		if !used[p.Prefix] {
			t.Errorf("crosswalk prefix %q matches no scanner rule", p.Prefix)
		}
	}
}

// TestCoverageAICM: coverage counts AICM controls, and a scanner rule
// covers MDS-02 through the crosswalk.
func TestCoverageAICM(t *testing.T) {
	cat, err := taxonomy.Load()
	if err != nil {
		t.Fatal(err)
	}
	fc, err := lifecycle.Coverage(cat, []lifecycle.CoverageControl{{ID: "scanner:PICKLE-001", Kind: lifecycle.ControlScanner, Title: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fc {
		if f.Framework != taxonomy.CSAAICM {
			continue
		}
		if f.Total < 200 || f.Covered != 2 {
			t.Errorf("AICM coverage %d/%d, want 2 of 200+", f.Covered, f.Total)
		}
		for _, it := range f.Items {
			if it.Kind != "control" {
				t.Errorf("AICM coverage counts %s %s", it.Kind, it.ID)
			}
			if (it.ID == "MDS-02" || it.ID == "MDS-13") && it.Gap {
				t.Errorf("%s not covered by PICKLE-001", it.ID)
			}
		}
		return
	}
	t.Fatal("no AICM in coverage")
}
