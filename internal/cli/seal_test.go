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

// seal -o naming the model itself, one of its evidence files, or a path
// inside the model directory is refused (exit 2) and the model is left as
// it was: the bundle would replace the plaintext model or become part of it.
func TestSealOutputInsideModelRefused(t *testing.T) {
	dir := t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	weights := bytes.Repeat([]byte("w"), 1000)
	os.WriteFile(filepath.Join(model, "weights.bin"), weights, 0o644)
	file := filepath.Join(dir, "m.bin")
	os.WriteFile(file, weights, 0o644)
	os.WriteFile(file+".sig", []byte("{}"), 0o644)
	os.Symlink(model, filepath.Join(dir, "link"))
	for name, tc := range map[string]struct{ path, out string }{
		"file model over itself":        {file, file},
		"file model over its signature": {file, file + ".sig"},
		"directory model, inside it":    {model, filepath.Join(model, "m.age")},
		"directory model, its own file": {model, filepath.Join(model, "weights.bin")},
		"inside it through a symlink":   {model, filepath.Join(dir, "link", "m.age")},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), []string{"seal", tc.path, "-r", id.Recipient().String(), "-o", tc.out}, nil, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), "inside the model") {
				t.Fatalf("exit %d, want 2: %s", code, stderr.String())
			}
			for _, p := range []string{file, filepath.Join(model, "weights.bin")} {
				if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, weights) {
					t.Fatalf("%s changed: %v", p, err)
				}
			}
			if ents, _ := os.ReadDir(model); len(ents) != 1 {
				t.Fatalf("model holds %v", ents)
			}
		})
	}
}
