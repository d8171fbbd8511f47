package zip_test

import (
	"bytes"
	"testing"

	"github.com/mlsecops/mlsec/bench/hostile"
	"github.com/mlsecops/mlsec/scan"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// TestNestedBombBudget: a 42.zip-style bomb (16 zips of 16 zips of 16 zips
// of 16 members, every ratio ~40:1, 65,536 leaves) ends not analysed on the
// artifact-wide budget of opened members, whatever its per-level fan-out;
// a smaller budget from the configuration ends it sooner.
func TestNestedBombBudget(t *testing.T) {
	var buf bytes.Buffer
	if err := hostile.NestedZip(&buf, 4, 16, 4<<10); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		limit scan.Limits
		want  string
	}{
		{"default", scan.Limits{}, scan.LimitMaxInflatedMembers},
		{"members", scan.Limits{MaxInflatedMembers: 100}, scan.LimitMaxInflatedMembers},
		{"bytes", scan.Limits{MaxInflatedBytes: 1 << 20}, scan.LimitMaxInflatedBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := scan.DefaultConfig()
			if tc.limit.MaxInflatedMembers > 0 {
				cfg.Limits.MaxInflatedMembers = tc.limit.MaxInflatedMembers
			}
			if tc.limit.MaxInflatedBytes > 0 {
				cfg.Limits.MaxInflatedBytes = tc.limit.MaxInflatedBytes
			}
			a := scanBytes(t, cfg, "bomb.zip", buf.Bytes())
			if a.Verdict != scan.VerdictNotAnalysed || a.Limit != tc.want {
				t.Fatalf("verdict %s, limit %q, reason %q; want not analysed on %s", a.Verdict, a.Limit, a.Reason, tc.want)
			}
		})
	}
}

// TestDeclaredRatioNotInflated: a member whose declared sizes exceed the
// ratio cap is reported without being decompressed, even when the
// artifact's decompression budget could not pay for one MiB.
func TestDeclaredRatioNotInflated(t *testing.T) {
	var buf bytes.Buffer
	if err := hostile.NestedZip(&buf, 1, 1, 64<<20); err != nil { // 64 MiB of ~40:1 data: under the ratio cap
		t.Fatal(err)
	}
	cfg := scan.DefaultConfig()
	cfg.Limits.MaxRatio = 10
	cfg.Limits.MaxInflatedBytes = 1 // any decompression would hit the budget
	a := scanBytes(t, cfg, "ratio.zip", buf.Bytes())
	found := false
	for _, f := range a.Findings {
		if f.RuleID == zipdet.RuleBomb && bytes.Contains([]byte(f.Message), []byte("not decompressed")) {
			found = true
		}
		if a.Limit == scan.LimitMaxInflatedBytes {
			t.Errorf("member was decompressed: %s", a.Reason)
		}
	}
	if !found {
		t.Errorf("no declared-ratio finding: %+v", a.Findings)
	}
}
