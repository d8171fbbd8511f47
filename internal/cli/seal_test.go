package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsecops/mlsec/internal/cli"
)

// A bundle with one flipped byte exits 1 with a clear message and lands
// nothing.
func TestUnsealFlippedByte(t *testing.T) {
	dir := t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	os.WriteFile(filepath.Join(model, "weights.bin"), bytes.Repeat([]byte("w"), 300_000), 0o644)
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	bundle := filepath.Join(dir, "m.age")
	var stdout, stderr bytes.Buffer
	if code := cli.Run(context.Background(), []string{"seal", model, "-r", id.Recipient().String(), "-o", bundle}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("seal exit %d: %s", code, stderr.String())
	}
	b, _ := os.ReadFile(bundle)
	b[len(b)/2] ^= 0x80
	os.WriteFile(bundle, b, 0o644)
	dest := filepath.Join(dir, "out")
	stderr.Reset()
	code := cli.Run(context.Background(), []string{"unseal", bundle, "--identity", keyFile, dest}, nil, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "bad bundle") || !strings.Contains(stderr.String(), "untouched") {
		t.Errorf("stderr %q", stderr.String())
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("dest created")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".mlsec-quarantine") {
			t.Fatalf("quarantine left: %s", e.Name())
		}
	}
}
