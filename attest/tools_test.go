package attest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/signing"
)

// TestToolSnapshotRoundTrip: a snapshot of a directory's tool lists
// survives its statement, and DiffTools reads the files again.
func TestToolSnapshotRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tools := `{"tools":[{"name":"a","description":"first","inputSchema":{"type":"object"}},{"name":"b","description":"second","inputSchema":{"type":"object"}}]}`
	os.WriteFile(filepath.Join(dir, "tools.json"), []byte(tools), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.json"), []byte(`{"a": 1}`), 0o644)
	m := &signing.Manifest{Items: []signing.Item{{Path: "notes.json"}, {Path: "tools.json"}}}
	snap, err := attest.SnapshotTools(dir, m)
	if err != nil || snap == nil || len(snap.Manifests) != 1 || len(snap.Manifests[0].Tools) != 2 || snap.Manifests[0].Kind != "mcp-tools" {
		t.Fatalf("snapshot = %+v, %v", snap, err)
	}
	st, err := snap.Statement(attest.Subject{Name: "x", Digest: attest.Digest("sha256:" + strings.Repeat("ab", 32))})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := attest.ParseStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	back, err := attest.ToolSnapshotOf(parsed)
	if err != nil || len(back.Manifests) != 1 || back.Manifests[0].Tools[1].Description != "second" {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if ch, err := back.DiffTools(dir, false); err != nil || len(ch) != 0 {
		t.Fatalf("unchanged diff = %+v, %v", ch, err)
	}
	os.Remove(filepath.Join(dir, "tools.json"))
	ch, err := back.DiffTools(dir, false)
	if err != nil || len(ch) != 2 || ch[0].Kind != "removed" || ch[0].Path != "tools.json" {
		t.Fatalf("removed diff = %+v, %v", ch, err)
	}
	if s, err := attest.SnapshotTools(dir, &signing.Manifest{Items: []signing.Item{{Path: "notes.json"}}}); err != nil || s != nil {
		t.Fatalf("no tool lists: %+v, %v", s, err)
	}
}
