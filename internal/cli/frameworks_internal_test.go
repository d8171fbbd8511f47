package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/taxonomy"
)

// TestEveryControlMapsToKnownIDs: every gate rule (built-in policies),
// every scanner rule and every mlsec capability maps to at least one
// framework item, and every mapped id exists in the catalogues.
func TestEveryControlMapsToKnownIDs(t *testing.T) {
	cat, err := taxonomy.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctls, err := gatherControls(nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, c := range ctls {
		kinds[c.Kind]++
		if len(c.Mappings) == 0 {
			t.Errorf("%s has no framework mapping", c.ID)
		}
		if err := cat.ValidateAll(c.Mappings); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
	}
	if kinds["gate"] == 0 || kinds["scanner"] == 0 || kinds["capability"] == 0 {
		t.Errorf("controls by kind: %v", kinds)
	}
}

// TestViewControls: the HTML coverage report lists gate rules and
// capabilities one by one and groups scanner rules by detector.
func TestViewControls(t *testing.T) {
	got := viewControls([]string{"gate:cd/CD-005", "scanner:PICKLE-001", "scanner:ZIP-002", "scanner:PICKLE-013",
		"scanner:MLSEC-SCAN-001", "capability:model-scanning"})
	want := controlView{
		Other:         []string{"gate:cd/CD-005", "capability:model-scanning"},
		ScannerGroups: []string{"PICKLE (2)", "ZIP (1)", "MLSEC-SCAN (1)"},
		Scanner:       []string{"PICKLE-001", "ZIP-002", "PICKLE-013", "MLSEC-SCAN-001"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("viewControls (-want +got):\n%s", diff)
	}
}
