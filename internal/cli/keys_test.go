package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/store/dial"
)

// TestKeysRotation follows docs/server-storage.md: rotate adds an
// identity, reencrypt moves every blob to it, and after the old identity
// file is deleted every blob still reads back with its digest verified.
func TestKeysRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bs, err := dial.Blobs(dial.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("model weights")
	d, _, err := bs.Put(ctx, bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "keys", "*"))
	if err != nil || len(old) != 1 {
		t.Fatalf("keys before rotation: %v %v", old, err)
	}
	run := func(args ...string) string {
		var out, errb strings.Builder
		if code := Run(ctx, args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("mlsec %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	if out := run("keys", "rotate", "--data", dir); !strings.Contains(out, "age1") {
		t.Fatalf("rotate printed %q; want the new public key", out)
	}
	if out := run("keys", "reencrypt", "--data", dir); !strings.Contains(out, "re-encrypted 1 blob") {
		t.Fatalf("reencrypt printed %q", out)
	}
	if err := os.Remove(old[0]); err != nil {
		t.Fatal(err)
	}
	bs, err = dial.Blobs(dial.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, err := bs.Get(d, 1<<20)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("after rotation without the old identity: %q %v", got, err)
	}
}
