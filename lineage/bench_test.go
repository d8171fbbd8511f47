package lineage_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/attest/attesttest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/lineage"
)

var benchEvidence = flag.String("bench-evidence", "", "write the 10,000-claim evidence directory here (for bench/lineage.sh) and print the root digest")

// writeEvidence builds an evidence directory of n artifacts with
// claimsPer claims each (one signed provenance naming one or two earlier
// artifacts, the rest signed evaluations). Artifact 0 is the root dataset;
// it returns its digest.
func writeEvidence(t testing.TB, dir string, n, claimsPer int) attest.Digest {
	t.Helper()
	k := attesttest.NewKey(t)
	s := k.Signer()
	ctx := context.Background()
	digests := make([]attest.Digest, n)
	for i := range n {
		d := attest.Digest(fmt.Sprintf("sha256:%064x", i+1))
		digests[i] = d
		art := filepath.Join(dir, fmt.Sprintf("group%02d", i%50), fmt.Sprintf("artifact%05d", i))
		if err := os.MkdirAll(art, 0o755); err != nil {
			t.Fatal(err)
		}
		subj := attest.Subject{Name: filepath.Base(art), Digest: d}
		var lines []byte
		for j := range claimsPer {
			var st []byte
			var err error
			if j == 0 && i > 0 {
				deps := []attest.Dependency{{Role: attest.RoleBaseModel, Name: "p", Digest: digests[(i-1)/2]}}
				if i > 2 {
					deps = append(deps, attest.Dependency{Role: attest.RoleDataset, Name: "q", Digest: digests[i/3]})
				}
				st, err = (&attest.Provenance{Subject: subj, BuilderID: "https://ci.example/b", RunType: attest.RunFineTuning,
					Parameters: map[string]any{"epochs": j}, Dependencies: deps}).Statement()
			} else {
				st, err = (&attest.Eval{Subject: subj, MetricsFile: fmt.Appendf(nil, `{"acc":%d}`, j)}).Statement()
			}
			if err != nil {
				t.Fatal(err)
			}
			line, err := attest.Sign(ctx, s, st)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(append(lines, line...), '\n')
		}
		if err := os.WriteFile(filepath.Join(art, evidence.ClaimsName), lines, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return digests[0]
}

// TestWriteBenchEvidence writes the benchmark's evidence for the CLI
// benchmark in bench/lineage.sh; it does nothing without -bench-evidence.
func TestWriteBenchEvidence(t *testing.T) {
	if *benchEvidence == "" {
		t.Skip("no -bench-evidence")
	}
	d := writeEvidence(t, *benchEvidence, 2000, 5)
	fmt.Println(d)
}

// BenchmarkImpact10k indexes an evidence directory holding 10,000 claims
// (2,000 artifacts × 5) and lists everything derived from the root.
func BenchmarkImpact10k(b *testing.B) {
	dir := b.TempDir()
	root := writeEvidence(b, dir, 2000, 5)
	ctx := context.Background()
	b.ResetTimer()
	var n int
	for b.Loop() {
		idx, err := lineage.IndexDir(ctx, dir, lineage.IndexOptions{})
		if err != nil {
			b.Fatal(err)
		}
		got, err := lineage.Impact(ctx, idx, root)
		if err != nil {
			b.Fatal(err)
		}
		n = len(got)
	}
	if n != 1999 {
		b.Fatalf("impact lists %d artifacts, want 1999", n)
	}
}

// TestImpact10kFast keeps the 10,000-claim impact query well under the
// one-second budget (with a margin for a loaded machine).
func TestImpact10kFast(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10,000 signed claims")
	}
	dir := t.TempDir()
	root := writeEvidence(t, dir, 2000, 5)
	start := time.Now()
	idx, err := lineage.IndexDir(context.Background(), dir, lineage.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := lineage.Impact(context.Background(), idx, root)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("impact over 10,000 claims: %d artifacts in %v", len(got), el)
	if len(got) != 1999 {
		t.Errorf("impact lists %d artifacts, want 1999", len(got))
	}
	if arts, runs := idx.Len(); arts != 2000 || runs != 1999 {
		t.Errorf("index has %d artifacts, %d runs", arts, runs)
	}
	if el > 3*time.Second {
		t.Errorf("impact took %v; the budget is 1 s", el)
	}
}
