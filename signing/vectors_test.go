package signing

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	vectorIdentity = "stefanb@us.ibm.com"
	vectorIssuer   = "https://sigstore.verify.ibm.com/oauth2"
)

func vectorKeyVerifier(t testing.TB) *KeyVerifier {
	pub, err := ParsePublicKey(readFile(t, vectorPath("keys/certificate/signing-key-pub.pem")))
	if err != nil {
		t.Fatal(err)
	}
	return &KeyVerifier{Key: pub}
}

func vectorCertVerifier(t testing.TB) *CertVerifier {
	roots, err := ParseCertificates(readFile(t, vectorPath("keys/certificate/ca-cert.pem")))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	return &CertVerifier{Roots: pool}
}

func vectorSigstoreVerifier(t testing.TB) *SigstoreVerifier {
	tm, err := LoadTrustedRoot("testdata/interop/sigstore/trusted-root-public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	return &SigstoreVerifier{TrustedMaterial: tm, Identity: vectorIdentity, Issuer: vectorIssuer, RequireSCT: true}
}

// vectorModel returns the model a vector folder signs: the folder itself,
// or its single file signme-1 when the statement names a file model.
func vectorModel(t testing.TB, dir string, signed *Manifest) string {
	if len(signed.Items) == 1 && signed.Items[0].Path == "." {
		return filepath.Join(dir, "signme-1")
	}
	return dir
}

// TestVectorsVerify checks every model.sig of the reference's interop
// vectors with its method, ignoring the files the reference's test scripts
// ignore (ignore-me and the signature itself).
func TestVectorsVerify(t *testing.T) {
	dirs, err := filepath.Glob(vectorPath("v*"))
	if err != nil || len(dirs) != 13 {
		t.Fatalf("want 13 vector folders, got %d (%v)", len(dirs), err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			var v Verifier
			switch {
			case strings.HasSuffix(name, "-elliptic-key"):
				v = vectorKeyVerifier(t)
			case strings.HasSuffix(name, "-certificate"):
				v = vectorCertVerifier(t)
			case strings.HasSuffix(name, "-sigstore"):
				v = vectorSigstoreVerifier(t)
			}
			bundle := readFile(t, filepath.Join(dir, "model.sig"))
			signed, err := VerifyPayload(context.Background(), bundle, v)
			if err != nil {
				t.Fatalf("signature: %v", err)
			}
			model := vectorModel(t, dir, signed)
			res, err := Verify(context.Background(), model, bundle, v, VerifyOptions{
				IgnorePaths: []string{"ignore-me", "model.sig"},
			})
			if err != nil {
				t.Fatalf("verify %s: %v", model, err)
			}
			if len(res.Actual.Items) == 0 {
				t.Fatal("nothing verified")
			}
			if strings.HasPrefix(name, "v0.2.0") && res.Signed.ModelName != "compat-undefined-not-present" {
				t.Errorf("v0.2.0 should parse as the legacy predicate, got model %q", res.Signed.ModelName)
			}
			// Tampering with a signed file is detected.
			tampered := t.TempDir()
			copyDir(t, dir, tampered)
			target := filepath.Join(tampered, "signme-1")
			if err := os.WriteFile(target, []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Verify(context.Background(), vectorModel(t, tampered, signed), bundle, v, VerifyOptions{
				IgnorePaths: []string{"ignore-me", "model.sig"},
			})
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("tampered model: err = %v, want ErrMismatch", err)
			}
		})
	}
}

// The v1.0.1+ vectors contain ignore-me, which is not signed: without
// ignoring it, verification names it as added (v1.1.0 records it in the
// signature, so it is ignored anyway).
func TestVectorsIgnoreMe(t *testing.T) {
	for _, tt := range []struct {
		dir       string
		wantAdded []string
	}{
		{"v1.0.1-elliptic-key", []string{"ignore-me"}},
		{"v1.1.0-elliptic-key", nil},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			dir := vectorPath(tt.dir)
			res, err := Verify(context.Background(), dir, readFile(t, filepath.Join(dir, "model.sig")), vectorKeyVerifier(t),
				VerifyOptions{IgnorePaths: []string{"model.sig"}})
			if tt.wantAdded == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			if diff := cmp.Diff(Diff{Added: tt.wantAdded}, res.Diff); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVectorsKeylessRejects(t *testing.T) {
	dir := vectorPath("v1.1.0-sigstore")
	bundle := readFile(t, filepath.Join(dir, "model.sig"))
	good := vectorSigstoreVerifier(t)
	keyBundle := readFile(t, vectorPath("v1.1.0-elliptic-key", "model.sig"))
	certBundle := readFile(t, vectorPath("v1.1.0-certificate", "model.sig"))
	tests := []struct {
		name   string
		bundle []byte
		v      *SigstoreVerifier
		want   string
	}{
		{"wrong identity", bundle, &SigstoreVerifier{TrustedMaterial: good.TrustedMaterial, Identity: "mallory@example.com", Issuer: vectorIssuer}, "mallory@example.com"},
		{"wrong issuer", bundle, &SigstoreVerifier{TrustedMaterial: good.TrustedMaterial, Identity: vectorIdentity, Issuer: "https://accounts.google.com"}, "accounts.google.com"},
		{"key bundle", keyBundle, good, "signed with a key"},
		{"certificate bundle", certBundle, good, "signed with a certificate chain"},
		{"key vector as keyless", readFile(t, vectorPath("v0.3.1-elliptic-key", "model.sig")), good, "signed with a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyPayload(context.Background(), tt.bundle, tt.v)
			if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidSignature mentioning %q", err, tt.want)
			}
		})
	}
	// A keyless bundle is not accepted by the key and certificate verifiers.
	if _, err := VerifyPayload(context.Background(), bundle, vectorKeyVerifier(t)); err == nil || !strings.Contains(err.Error(), "keyless") {
		t.Errorf("key verifier on keyless bundle: %v", err)
	}
	if _, err := VerifyPayload(context.Background(), bundle, vectorCertVerifier(t)); err == nil || !strings.Contains(err.Error(), "keyless") {
		t.Errorf("certificate verifier on keyless bundle: %v", err)
	}
}
