package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
)

func digestOf(b []byte) store.Digest {
	s := sha256.Sum256(b)
	return store.Digest("sha256:" + hex.EncodeToString(s[:]))
}

func newStore(t *testing.T) (*blob.Store, string, string) {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	kr, err := blob.LoadKeyring(keys, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := blob.Open(filepath.Join(dir, "blobs"), kr)
	if err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(dir, "blobs"), keys
}

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	s, dir, _ := newStore(t)
	data := bytes.Repeat([]byte("model weights "), 10000)
	d, n, err := s.Put(ctx, bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if d != digestOf(data) || n != int64(len(data)) {
		t.Fatalf("Put = %s, %d", d, n)
	}
	got, err := s.Get(d, 1<<20)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	// At rest the bytes are encrypted: no plaintext in the file.
	h := strings.TrimPrefix(string(d), "sha256:")
	raw, err := os.ReadFile(filepath.Join(dir, "sha256", h[:2], h+".age"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("model weights")) || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) {
		t.Error("blob stored in plaintext")
	}
	// Idempotent.
	if d2, _, err := s.Put(ctx, bytes.NewReader(data), 0); err != nil || d2 != d {
		t.Fatalf("second Put = %s, %v", d2, err)
	}
	if !s.Has(d) || s.Has(digestOf([]byte("nope"))) {
		t.Error("Has")
	}
	if _, err := s.Get(digestOf([]byte("nope")), 10); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("missing blob: %v", err)
	}
	if _, err := s.Get(d, 10); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("Get over cap: %v", err)
	}
	if _, _, err := s.Put(ctx, bytes.NewReader(data), 100); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("Put over cap: %v", err)
	}
	if _, err := s.Get("sha256:zz", 10); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad digest: %v", err)
	}
	if err := s.Delete(d); err != nil || s.Has(d) {
		t.Errorf("Delete: %v", err)
	}
	// Nothing left behind in tmp.
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp not cleaned: %v", ents)
	}
}

func TestDigestVerifiedOnRead(t *testing.T) {
	ctx := context.Background()
	s, dir, _ := newStore(t)
	a, _, _ := s.Put(ctx, strings.NewReader("genuine model"), 0)
	b, _, _ := s.Put(ctx, strings.NewReader("malicious model"), 0)
	pa := filepath.Join(dir, "sha256", string(a)[7:9], string(a)[7:]+".age")
	pb := filepath.Join(dir, "sha256", string(b)[7:9], string(b)[7:]+".age")
	// Swap: a's file now holds a valid encryption of b's bytes.
	raw, _ := os.ReadFile(pb)
	if err := os.WriteFile(pa, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(a, 1<<20); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Errorf("swapped blob: err = %v, want ErrDigestMismatch", err)
	}
	rc, _ := s.Open(a)
	_, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, blob.ErrDigestMismatch) {
		t.Errorf("streamed swapped blob: err = %v", err)
	}
	// Flipped ciphertext byte: age's authentication fails.
	raw[len(raw)-5] ^= 1
	os.WriteFile(pb, raw, 0o600)
	if _, err := s.Get(b, 1<<20); err == nil {
		t.Error("corrupted blob read without error")
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	s, dir, keys := newStore(t)
	old := map[store.Digest][]byte{}
	for _, txt := range []string{"one", "two", "three"} {
		d, _, err := s.Put(ctx, strings.NewReader(txt), 0)
		if err != nil {
			t.Fatal(err)
		}
		old[d] = []byte(txt)
	}
	// Rotate: a new identity encrypts, the old one still decrypts.
	if _, _, err := blob.GenerateIdentity(keys, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	kr, err := blob.LoadKeyring(keys, false)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := blob.Open(dir, kr)
	d4, _, _ := s2.Put(ctx, strings.NewReader("four"), 0)
	for d, want := range old {
		if got, err := s2.Get(d, 100); err != nil || !bytes.Equal(got, want) {
			t.Errorf("old blob after rotation: %q, %v", got, err)
		}
	}
	n, err := s2.ReEncrypt(ctx)
	if err != nil || n != 3 {
		t.Fatalf("ReEncrypt = %d, %v; want 3 rewritten", n, err)
	}
	if n, err := s2.ReEncrypt(ctx); err != nil || n != 0 {
		t.Fatalf("second ReEncrypt = %d, %v; want 0", n, err)
	}
	// Retire the old identity: everything still reads with the new one only.
	paths, _ := filepath.Glob(filepath.Join(keys, "identity-*.txt"))
	if len(paths) != 2 {
		t.Fatalf("identities: %v", paths)
	}
	os.Remove(paths[0])
	kr3, err := blob.LoadKeyring(keys, false)
	if err != nil {
		t.Fatal(err)
	}
	s3, _ := blob.Open(dir, kr3)
	old[d4] = []byte("four")
	for d, want := range old {
		if got, err := s3.Get(d, 100); err != nil || !bytes.Equal(got, want) {
			t.Errorf("after retiring the old key: %q, %v", got, err)
		}
	}
	// A keyring without the key cannot read.
	other := t.TempDir()
	kr4, _ := blob.LoadKeyring(other, true)
	s4, _ := blob.Open(dir, kr4)
	if _, err := s4.Get(d4, 100); !errors.Is(err, blob.ErrNoKey) {
		t.Errorf("foreign key: %v", err)
	}
}

func TestKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	p, _, err := blob.GenerateIdentity(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	if _, err := blob.LoadKeyring(dir, false); err == nil {
		t.Error("world-readable identity accepted")
	}
	if _, err := blob.LoadKeyring(t.TempDir(), false); !errors.Is(err, blob.ErrNoKey) {
		t.Errorf("empty key dir: %v", err)
	}
}
