package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/store/blob"
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

// TestKeysElsewhere: the identity can live outside the data directory, in
// a key file or behind a KMS-style command, and rotation works in both
// cases; the data directory then holds no key at all.
func TestKeysElsewhere(t *testing.T) {
	ctx := context.Background()
	run := func(stdin string, args ...string) (string, string) {
		t.Helper()
		var out, errb strings.Builder
		if code := Run(ctx, args, strings.NewReader(stdin), &out, &errb); code != 0 {
			t.Fatalf("mlsec %v: exit %d: %s", args, code, errb.String())
		}
		return out.String(), errb.String()
	}
	content := []byte("model weights")
	identities := func(p string) int {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "AGE-SECRET-KEY-1")
	}

	t.Run("key file", func(t *testing.T) {
		data, keyFile := t.TempDir(), filepath.Join(t.TempDir(), "vol", "mlsec.key")
		c := dial.Config{DataDir: data, KeyFile: keyFile}
		bs, err := dial.Blobs(c)
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := bs.Put(ctx, bytes.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(data, "keys")); !os.IsNotExist(err) {
			t.Fatalf("a key directory was made beside the blobs: %v", err)
		}
		out, _ := run("", "keys", "rotate", "--data", data, "--key-file", keyFile)
		if !strings.Contains(out, "age1") || identities(keyFile) != 2 {
			t.Fatalf("rotate: %q, %d identities", out, identities(keyFile))
		}
		if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode: %v %v", st.Mode(), err)
		}
		if out, _ := run("", "keys", "reencrypt", "--data", data, "--key-file", keyFile); !strings.Contains(out, "re-encrypted 1 blob") {
			t.Fatalf("reencrypt: %q", out)
		}
		// Retire the old identity: keep only the newest.
		b, _ := os.ReadFile(keyFile)
		newest := string(b)[strings.LastIndex(string(b), "# created:"):]
		if err := os.WriteFile(keyFile, []byte(newest), 0o600); err != nil {
			t.Fatal(err)
		}
		bs, err = dial.Blobs(c)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := bs.Get(d, 1<<20); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("after rotation: %q %v", got, err)
		}
		if err := os.Chmod(keyFile, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := dial.Blobs(c); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("a group-readable key file was accepted: %v", err)
		}
	})

	t.Run("key command", func(t *testing.T) {
		data, secrets := t.TempDir(), t.TempDir()
		// The "KMS": a secret file the command prints.
		secret := filepath.Join(secrets, "secret")
		if _, err := blobAppend(secret); err != nil {
			t.Fatal(err)
		}
		command := "cat " + secret
		c := dial.Config{DataDir: data, KeyCommand: command}
		bs, err := dial.Blobs(c)
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := bs.Put(ctx, bytes.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		out, msg := run("", "keys", "rotate", "--data", data, "--key-command", command)
		if strings.Count(out, "AGE-SECRET-KEY-1") != 2 || !strings.Contains(msg, "age1") {
			t.Fatalf("rotate with a key command: %d identities printed, %q", strings.Count(out, "AGE-SECRET-KEY-1"), msg)
		}
		if identities(secret) != 1 {
			t.Fatal("rotate wrote to the secret store itself")
		}
		// The operator stores the new file back in the "KMS".
		if err := os.WriteFile(secret, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, _ := run("", "keys", "reencrypt", "--data", data, "--key-command", command); !strings.Contains(out, "re-encrypted 1 blob") {
			t.Fatalf("reencrypt: %q", out)
		}
		if bs, err = dial.Blobs(c); err != nil { // the restart
			t.Fatal(err)
		}
		if got, err := bs.Get(d, 1<<20); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read back: %q %v", got, err)
		}
		if _, err := os.Stat(filepath.Join(data, "keys")); !os.IsNotExist(err) {
			t.Fatalf("a key directory was made beside the blobs: %v", err)
		}
		if _, err := dial.Blobs(dial.Config{DataDir: data, KeyCommand: "exit 3"}); err == nil {
			t.Fatal("a failing key command was accepted")
		}
	})
}

func blobAppend(path string) (string, error) { return blob.AppendIdentity(path, time.Now()) }
