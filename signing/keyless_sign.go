package signing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// Public-good Sigstore service URLs.
const (
	PublicFulcioURL = "https://fulcio.sigstore.dev"
	PublicRekorURL  = "https://rekor.sigstore.dev"
)

// SigstoreSigner signs keyless with sigstore-go's pkg/sign: an ephemeral
// P-256 key is certified by Fulcio for the OIDC identity in IDToken, the
// DSSE envelope is recorded in Rekor (v1 API, dsse entry), and the bundle
// (v0.3) carries the leaf certificate and the log entry with its inclusion
// promise and proof.
type SigstoreSigner struct {
	FulcioURL string // default PublicFulcioURL
	RekorURL  string // default PublicRekorURL
	IDToken   string // raw OIDC identity token (JWT)
	// Timeout bounds each request to Fulcio and Rekor (default 30s).
	Timeout time.Duration
	// TrustedMaterial, when set, is what sigstore-go verifies the new
	// bundle against (certificate chain, log entry and its timestamp; not
	// the identity) before SignPayload returns it.
	TrustedMaterial root.TrustedMaterial
}

// SignPayload implements Signer.
func (s *SigstoreSigner) SignPayload(ctx context.Context, payloadType string, payload []byte) (*protobundle.Bundle, error) {
	if s.IDToken == "" {
		return nil, errors.New("signing: keyless signing needs an OIDC identity token")
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	opts := sign.BundleOptions{
		CertificateProvider: sign.NewFulcio(&sign.FulcioOptions{
			BaseURL: cmp.Or(s.FulcioURL, PublicFulcioURL), Timeout: s.Timeout, Retries: 1}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: s.IDToken},
		TransparencyLogs: []sign.Transparency{sign.NewRekor(&sign.RekorOptions{
			BaseURL: cmp.Or(s.RekorURL, PublicRekorURL), Timeout: s.Timeout, Retries: 1})},
		Context:     ctx,
		TrustedRoot: s.TrustedMaterial,
	}
	b, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: payloadType}, kp, opts)
	if err != nil {
		return nil, fmt.Errorf("signing: sigstore: %w", err)
	}
	return b, nil
}
