package signing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/mlsecops/mlsec/signing/sigstoretest"
)

// withFulcio is trusted material with the Fulcio CA of another.
type withFulcio struct {
	root.TrustedMaterial
	fulcio root.TrustedMaterial
}

func (w withFulcio) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return w.fulcio.FulcioCertificateAuthorities()
}

// TestKeylessSignEndToEnd signs models keyless through sigstore-go's
// pkg/sign against the virtual Fulcio and Rekor, and verifies the bundles
// with SigstoreVerifier against the VirtualSigstore trusted material.
func TestKeylessSignEndToEnd(t *testing.T) {
	ctx := context.Background()
	const issuer, identity = "https://issuer.test", "alice@example.com"
	v := sigstoretest.New(t)
	token := sigstoretest.Token(map[string]any{"sub": "123", "email": identity, "email_verified": true, "iss": issuer})
	signer := &SigstoreSigner{FulcioURL: v.URL, RekorURL: v.URL, IDToken: token, TrustedMaterial: v}
	good := &SigstoreVerifier{TrustedMaterial: v, Identity: identity, Issuer: issuer}
	// The same log, another Fulcio CA.
	otherFulcio := withFulcio{v, sigstoretest.New(t)}
	for _, tt := range []struct {
		model string
		opts  HashOptions
	}{
		{"sample_model_folder", HashOptions{}},
		{"sample_model_folder", HashOptions{Method: MethodShards, ShardSize: 8, Hash: BLAKE2b}},
		{"sample_model_file", HashOptions{Hash: BLAKE3}},
	} {
		dir := fixture(t, tt.model)
		res, err := Sign(ctx, dir, signer, tt.opts)
		if err != nil {
			t.Fatalf("%s %+v: %v", tt.model, tt.opts, err)
		}
		b, err := ReadBundle(res.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.GetMediaType(); got != "application/vnd.dev.sigstore.bundle.v0.3+json" {
			t.Errorf("mediaType = %q", got)
		}
		if b.GetVerificationMaterial().GetCertificate() == nil || len(b.GetVerificationMaterial().GetTlogEntries()) != 1 {
			t.Errorf("verification material = %v, want a leaf certificate and one log entry", b.GetVerificationMaterial())
		}
		got, err := Verify(ctx, dir, res.Bundle, good, VerifyOptions{})
		if err != nil {
			t.Fatalf("%s %+v: %v", tt.model, tt.opts, err)
		}
		if got.Signed.Serialization.Hash != res.Manifest.Serialization.Hash || len(got.Signed.Items) != len(res.Manifest.Items) {
			t.Errorf("signed manifest %+v, want %+v", got.Signed.Serialization, res.Manifest.Serialization)
		}
		for _, bad := range []struct {
			name   string
			v      *SigstoreVerifier
			reason string
		}{
			{"wrong identity", &SigstoreVerifier{TrustedMaterial: v, Identity: "mallory@example.com", Issuer: issuer}, "mallory@example.com"},
			{"wrong issuer", &SigstoreVerifier{TrustedMaterial: v, Identity: identity, Issuer: "https://accounts.google.com"}, "accounts.google.com"},
			{"other Sigstore", &SigstoreVerifier{TrustedMaterial: sigstoretest.New(t), Identity: identity, Issuer: issuer}, "transparency log"},
			{"other Fulcio", &SigstoreVerifier{TrustedMaterial: otherFulcio, Identity: identity, Issuer: issuer}, "certificate"},
			// The virtual Fulcio embeds no SCT.
			{"SCT required", &SigstoreVerifier{TrustedMaterial: v, Identity: identity, Issuer: issuer, RequireSCT: true}, "SCT"},
		} {
			_, err := Verify(ctx, dir, res.Bundle, bad.v, VerifyOptions{})
			if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), bad.reason) {
				t.Errorf("%s: err = %v, want ErrInvalidSignature naming %q", bad.name, err, bad.reason)
			}
		}
		target := dir
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			target = filepath.Join(dir, res.Manifest.Items[0].Path)
		}
		if err := os.WriteFile(target, []byte("tampered"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(ctx, dir, res.Bundle, good, VerifyOptions{}); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s tampered: err = %v, want ErrMismatch", tt.model, err)
		}
	}
}

// TestKeylessSignRefusals: sigstore-go refuses to sign with tokens Fulcio
// would refuse, and SigstoreSigner refuses a bundle its trusted material
// does not accept (here, a log entry from a log it does not trust).
func TestKeylessSignRefusals(t *testing.T) {
	ctx := context.Background()
	v := sigstoretest.New(t)
	for _, tt := range []struct{ token, reason string }{
		{"", "needs an OIDC identity token"},
		{"not-a-jwt", "subject"},
		{sigstoretest.Token(map[string]any{"email": "a@b.c", "iss": "https://issuer.test"}), "not verified"},
	} {
		s := &SigstoreSigner{FulcioURL: v.URL, RekorURL: v.URL, IDToken: tt.token}
		if _, err := s.SignPayload(ctx, PayloadType, []byte("{}")); err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("token %q: err = %v, want %q", tt.token, err, tt.reason)
		}
	}

	token := sigstoretest.Token(map[string]any{"sub": "bob", "iss": "https://issuer.test"})
	other, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	v.RecordIn(other)
	dir := fixture(t, "sample_model_file")
	s := &SigstoreSigner{FulcioURL: v.URL, RekorURL: v.URL, IDToken: token, TrustedMaterial: v}
	if _, err := Sign(ctx, dir, s, HashOptions{}); err == nil || !strings.Contains(err.Error(), "transparency log") {
		t.Errorf("untrusted log: err = %v, want a refusal of the log entry", err)
	}
	// Without TrustedMaterial the bundle is written, and verification
	// refuses it.
	s.TrustedMaterial = nil
	res, err := Sign(ctx, dir, s, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sv := &SigstoreVerifier{TrustedMaterial: v, Identity: "bob", Issuer: "https://issuer.test"}
	if _, err := Verify(ctx, dir, res.Bundle, sv, VerifyOptions{}); !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), "transparency log") {
		t.Errorf("untrusted log: err = %v, want ErrInvalidSignature", err)
	}
	v.RecordIn(nil)
	if _, err := Sign(ctx, dir, s, HashOptions{}); err != nil {
		t.Errorf("trusted log again: %v", err)
	}
}
