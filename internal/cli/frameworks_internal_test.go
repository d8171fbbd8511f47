package cli

import (
	"testing"

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
