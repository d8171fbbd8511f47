package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/queue/queuetest"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// TestHubScanAndAuditVerify runs `mlsec hub scan` on a small mirror with
// the embedded store, then `mlsec audit verify` before and after an
// attacker rewrites one audit row.
func TestHubScanAndAuditVerify(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mirror := filepath.Join(dir, "mirror")
	bad, err := queuetest.WriteMirror(mirror, 12, 5)
	if err != nil {
		t.Fatal(err)
	}
	// The mirror holds malicious models: exit 1 at the default --fail-on.
	code, stdout, stderr := run(t, "hub", "scan", "--data", data, "--workers", "2", "--format", "json", mirror)
	if code != 1 {
		t.Fatalf("hub scan: exit %d, want 1\n%s", code, stderr)
	}
	var h store.HubScan
	if err := json.Unmarshal([]byte(stdout), &h); err != nil {
		t.Fatalf("hub scan output %q: %v", stdout, err)
	}
	if h.Total != 12 || h.Done != 12 || h.Failed != 0 || h.Findings < bad || h.Status != store.HubScanDone {
		t.Errorf("hub scan = %+v (malicious models: %d)", h, bad)
	}
	if !strings.Contains(stderr, "12 models enqueued") {
		t.Errorf("hub scan progress output: %q", stderr)
	}

	code, stdout, _ = run(t, "audit", "verify", "--data", data)
	if code != 0 || !strings.HasPrefix(stdout, "audit log OK: ") {
		t.Fatalf("audit verify on an intact log: exit %d, %q", code, stdout)
	}

	// Tamper with entry 5 the way someone with database access could.
	st, err := sqlite.OpenDir(context.Background(), data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := st.SQL()
	for _, q := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, stdout, _ = run(t, "audit", "verify", "--data", data)
	if code != 1 || !strings.Contains(stdout, "TAMPERED at entry 5") {
		t.Errorf("audit verify after tampering: exit %d, %q; want exit 1 naming entry 5", code, stdout)
	}

	code, stdout, _ = run(t, "audit", "log", "--data", data, "--limit", "2")
	if code != 0 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stdout, `"action":"hubscan.create"`) {
		t.Errorf("audit log: exit %d, %q", code, stdout)
	}
}

func TestStorageFlagErrors(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, "audit", "verify", "--database", "mysql://x"); code != 2 || !strings.Contains(stderr, "postgres://") {
		t.Errorf("bad --database: exit %d, %q", code, stderr)
	}
	if code, _, _ := run(t, "hub", "scan", "--data", dir, filepath.Join(dir, "missing")); code == 0 {
		t.Error("hub scan of a missing directory succeeded")
	}
	if code, _, stderr := run(t, "worker", "--data", dir, "--concurrency", "0"); code != 2 {
		t.Errorf("worker --concurrency 0: exit %d, %q", code, stderr)
	}
}

func TestKeysRotate(t *testing.T) {
	data := t.TempDir()
	for range 2 {
		if code, stdout, stderr := run(t, "keys", "rotate", "--data", data); code != 0 || !strings.Contains(stdout, "public key age1") {
			t.Fatalf("keys rotate: exit %d, %q %q", code, stdout, stderr)
		}
	}
	ids, _ := filepath.Glob(filepath.Join(data, "keys", "identity-*.txt"))
	if len(ids) != 2 {
		t.Fatalf("identities after two rotations: %v", ids)
	}
	if code, stdout, stderr := run(t, "keys", "reencrypt", "--data", data); code != 0 || stdout != "re-encrypted 0 blob(s)\n" {
		t.Errorf("keys reencrypt: exit %d, %q %q", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "blobs")); err != nil {
		t.Error(err)
	}
}
