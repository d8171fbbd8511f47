package signing

import (
	"context"
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bundle files that are not bundles say what is wrong with them.
func TestBundleFileMessages(t *testing.T) {
	dir, bundle, key := signedModel(t)
	v := &KeyVerifier{Key: &key.PublicKey}
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "bundle is empty"},
		{"blank", " \n", "bundle is empty"},
		{"truncated", string(bundle[:len(bundle)-10]), "not JSON, or truncated or corrupted"},
		{"binary", "\x00\x01\x02", "not JSON, or truncated or corrupted"},
		{"JSON of another shape", `{"mediaType": 7}`, "not a valid Sigstore bundle: proto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(context.Background(), dir, []byte(tt.data), v, VerifyOptions{})
			if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidSignature containing %q", err, tt.want)
			}
		})
	}
	if _, err := ReadBundleFile(dir); err == nil || IsNegative(err) || !strings.Contains(err.Error(), "is a directory: pass the bundle file") {
		t.Errorf("directory as signature: err = %v", err)
	}
}

// A signature checked against a model it was not made for says so, besides
// listing the files.
func TestOtherModelHint(t *testing.T) {
	_, bundle, key := signedModel(t)
	v := &KeyVerifier{Key: &key.PublicKey}
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "weights.bin"), "x")
	res, err := Verify(context.Background(), other, bundle, v, VerifyOptions{})
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `it is probably the signature of another model (signed as "sample_model")`) {
		t.Fatalf("err = %v", err)
	}
	if len(res.Diff.Added) != 1 || len(res.Diff.Missing) != 10 {
		t.Errorf("diff = %+v", res.Diff)
	}
	// A model that shares a file with the signature gets no such hint.
	writeFile(t, filepath.Join(other, "f0"), "This is file f0 in root.")
	if _, err := Verify(context.Background(), other, bundle, v, VerifyOptions{}); !errors.Is(err, ErrMismatch) || strings.Contains(err.Error(), "another model") {
		t.Errorf("err = %v", err)
	}
	// Nor does a single-file model whose content changed.
	file := filepath.Join(t.TempDir(), "m.bin")
	writeFile(t, file, "a")
	k := newKey(t, elliptic.P256())
	sr, err := Sign(context.Background(), file, &KeySigner{Key: k}, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, []byte("b"), 0o644)
	if _, err := Verify(context.Background(), file, sr.Bundle, &KeyVerifier{Key: &k.PublicKey}, VerifyOptions{}); !errors.Is(err, ErrMismatch) || strings.Contains(err.Error(), "another model") {
		t.Errorf("single file: err = %v", err)
	}
}

// A file name with ':' cannot be a shard resource name (path:start:end is
// split on ':' by mlsec and model_signing alike): signing refuses it
// rather than write a bundle nobody can verify. The files method is fine.
func TestShardsRefuseColonNames(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sub/x:y.bin"), "a")
	k := &KeySigner{Key: newKey(t, elliptic.P256())}
	_, err := Sign(context.Background(), dir, k, HashOptions{Method: MethodShards})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"sub/x:y.bin"`) || !strings.Contains(err.Error(), "--method files") {
		t.Errorf("shards: err = %v", err)
	}
	res, err := Sign(context.Background(), dir, k, HashOptions{Method: MethodFiles})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), dir, res.Bundle, &KeyVerifier{Key: &k.Key.PublicKey}, VerifyOptions{}); err != nil {
		t.Errorf("files: %v", err)
	}
}
