package transport_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/transport"
)

func TestVerifyStreamed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string]string{"a.bin": "aaaa", "sub/b.json": "{}"}
	sums := map[string][]byte{}
	for n, c := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(c), 0o644)
		s := sha256.Sum256([]byte(c))
		sums[n] = s[:]
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(opts signing.HashOptions) []byte {
		r, err := signing.Sign(ctx, dir, &signing.KeySigner{Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return r.Bundle
	}
	files256 := sign(signing.HashOptions{})
	v := &signing.KeyVerifier{Key: &key.PublicKey}
	clone := func(m map[string][]byte) map[string][]byte {
		c := map[string][]byte{}
		for k, v := range m {
			c[k] = v
		}
		return c
	}

	root, applied, err := transport.VerifyStreamed(ctx, v, files256, sums)
	if err != nil || !applied {
		t.Fatalf("valid: %v applied=%v", err, applied)
	}
	want, _ := attest.Identify(ctx, &attest.Hasher{}, dir)
	if root != want.Digest {
		t.Errorf("root %s, want %s", root, want.Digest)
	}

	changed := clone(sums)
	changed["a.bin"] = make([]byte, 32)
	extra := clone(sums)
	extra["c.bin"] = make([]byte, 32)
	missing := clone(sums)
	delete(missing, "sub/b.json")
	for name, got := range map[string]map[string][]byte{"changed": changed, "extra": extra, "missing": missing} {
		if _, applied, err := transport.VerifyStreamed(ctx, v, files256, got); !applied || !errors.Is(err, signing.ErrMismatch) {
			t.Errorf("%s: %v applied=%v", name, err, applied)
		}
	}
	if _, _, err := transport.VerifyStreamed(ctx, &signing.KeyVerifier{Key: &other.PublicKey}, files256, sums); !errors.Is(err, signing.ErrInvalidSignature) {
		t.Errorf("wrong key: %v", err)
	}
	if got := transport.SignedDigests(writeSig(t, files256)); len(got) != 2 || string(got["a.bin"]) != string(sums["a.bin"]) {
		t.Errorf("SignedDigests %x", got)
	}
	if got := transport.SignedDigests(writeSig(t, sign(signing.HashOptions{Method: signing.MethodShards}))); got != nil {
		t.Errorf("SignedDigests of a shard signature: %x", got)
	}
	if got := transport.SignedDigests(filepath.Join(t.TempDir(), "none.sig")); got != nil {
		t.Errorf("SignedDigests of no signature: %x", got)
	}
	// Signatures the layer digests cannot stand for: the caller hashes.
	for name, opts := range map[string]signing.HashOptions{
		"shards": {Method: signing.MethodShards},
		"blake3": {Hash: signing.BLAKE3},
	} {
		if _, applied, err := transport.VerifyStreamed(ctx, v, sign(opts), sums); applied || err != nil {
			t.Errorf("%s: applied=%v err=%v", name, applied, err)
		}
	}
}

func writeSig(t *testing.T, b []byte) string {
	p := filepath.Join(t.TempDir(), "model.sig")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
