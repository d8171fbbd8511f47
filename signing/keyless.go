package signing

import (
	"context"
	"fmt"
	"os"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// SigstoreVerifier verifies keyless (Sigstore) bundles with sigstore-go:
// the Fulcio certificate chain, the transparency log entry and its
// timestamp against TrustedMaterial, and the certificate's OIDC identity
// (SAN) and issuer.
type SigstoreVerifier struct {
	TrustedMaterial root.TrustedMaterial
	Identity        string // exact SAN, e.g. an e-mail address
	Issuer          string // exact OIDC issuer URL
	// RequireSCT also requires a signed certificate timestamp from a CT log
	// in TrustedMaterial, as public-good Fulcio certificates carry.
	RequireSCT bool
}

// LoadTrustedRoot reads a Sigstore trusted root JSON file, or fetches the
// public-good root through TUF when path is empty.
func LoadTrustedRoot(path string) (root.TrustedMaterial, error) {
	if path == "" {
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("signing: fetching the Sigstore trusted root through TUF (use --trusted-root FILE offline): %w", err)
		}
		return tr, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("signing: trusted root %s: %w", path, err)
	}
	return tr, nil
}

// VerifyBundle implements Verifier.
func (v *SigstoreVerifier) VerifyBundle(_ context.Context, b *protobundle.Bundle) ([]byte, error) {
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, invalid("bundle has no dsseEnvelope")
	}
	if err := checkEnvelope(env); err != nil {
		return nil, err
	}
	switch b.GetVerificationMaterial().GetContent().(type) {
	case *protobundle.VerificationMaterial_PublicKey:
		return nil, invalid("bundle is signed with a key, not keyless: verify it with --key")
	case *protobundle.VerificationMaterial_X509CertificateChain:
		if b.GetMediaType() == BundleMediaType {
			return nil, invalid("bundle is signed with a certificate chain, not keyless: verify it with --ca-bundle")
		}
	}
	if v.Identity == "" || v.Issuer == "" {
		return nil, fmt.Errorf("signing: keyless verification needs both an identity and an issuer")
	}
	sb, err := sgbundle.NewBundle(b)
	if err != nil {
		return nil, invalid("bundle: %v", err)
	}
	vopts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)}
	if v.RequireSCT {
		vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
	}
	verifier, err := verify.NewVerifier(v.TrustedMaterial, vopts...)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	id, err := verify.NewShortCertificateIdentity(v.Issuer, "", v.Identity, "")
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if _, err := verifier.Verify(sb, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithCertificateIdentity(id))); err != nil {
		return nil, invalid("sigstore: %v", err)
	}
	return env.GetPayload(), nil
}
