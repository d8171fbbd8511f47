package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// TestAuditVerify: `mlsec audit verify` exits 0 on an intact log and 1,
// naming the entry, when an entry was rewritten behind the store's back.
func TestAuditVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range "abc" {
		d := store.Digest("sha256:" + strings.Repeat(string(c), 64))
		if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "m", Kind: "model"}, "token:ci"); err != nil {
			t.Fatal(err)
		}
	}
	verify := func() (int, string) {
		var out, errb strings.Builder
		code := Run(ctx, []string{"audit", "verify", "--data", dir}, strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := verify(); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("intact log: exit %d, %q", code, out)
	}
	db := st.SQL()
	for _, q := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET actor = 'token:mallory' WHERE seq = 2"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if code, out := verify(); code != 1 || !strings.Contains(out, "TAMPERED at entry 2") {
		t.Fatalf("tampered log: exit %d, %q; want 1 naming entry 2", code, out)
	}
}
