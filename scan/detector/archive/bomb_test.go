package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/bench/hostile"
	"github.com/mlsecops/mlsec/scan"
)

// TestNestedTarGzBudget: nested .tar.gz layers whose ratios are all small
// end not analysed on the artifact-wide decompression budget, counted
// while inflating across every level, and a single gzip bomb on its ratio.
func TestNestedTarGzBudget(t *testing.T) {
	dir := t.TempDir()
	var nested, bomb bytes.Buffer
	if err := hostile.NestedTarGz(&nested, 3, 8, 256<<10); err != nil { // 128 MiB inflated in all
		t.Fatal(err)
	}
	if err := hostile.GzipBomb(&bomb, 64<<20); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"nested.tar.gz": nested.Bytes(), "zeros.gz": bomb.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := scan.DefaultConfig()
	cfg.Limits.MaxInflatedBytes = 16 << 20
	res, err := scan.NewRunner(realDetectors(t), cfg, scan.Options{Workers: 1}).Scan(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, a := range res.Artifacts {
		switch filepath.Base(a.Path) {
		case "nested.tar.gz":
			seen++
			if a.Verdict != scan.VerdictNotAnalysed || a.Limit != scan.LimitMaxInflatedBytes {
				t.Errorf("%s: verdict %s limit %q reason %q; want not analysed on %s", a.Path, a.Verdict, a.Limit, a.Reason, scan.LimitMaxInflatedBytes)
			}
		case "zeros.gz":
			seen++
			bomb := false
			for _, f := range a.Findings {
				bomb = bomb || f.RuleID == RuleBomb
			}
			if !bomb {
				t.Errorf("%s: findings %+v, want %s", a.Path, a.Findings, RuleBomb)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d of 2 artifacts reported", seen)
	}
}
