package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
)

// maxChainLength bounds the certificates read from a bundle.
const maxChainLength = 10

// ErrCertificate reports an unusable certificate file.
var ErrCertificate = errors.New("signing: bad certificate")

// ParseCertificates reads every PEM "CERTIFICATE" block of data.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	var seen []string
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			seen = append(seen, blk.Type)
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		if len(seen) > 0 {
			return nil, fmt.Errorf("%w: no PEM certificate found (the file holds %s)", ErrCertificate, strings.Join(seen, ", "))
		}
		return nil, fmt.Errorf("%w: no PEM certificate found", ErrCertificate)
	}
	return out, nil
}

// CertSigner signs with a private key and records its certificate and
// chain, leaf first (the reference's "certificate" method).
type CertSigner struct {
	Key   *ecdsa.PrivateKey
	Leaf  *x509.Certificate
	Chain []*x509.Certificate // intermediates and optionally the root
}

// NewCertSigner checks that the certificate belongs to the key.
func NewCertSigner(key *ecdsa.PrivateKey, leaf *x509.Certificate, chain []*x509.Certificate) (*CertSigner, error) {
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("%w: the certificate's public key does not match the private key", ErrCertificate)
	}
	return &CertSigner{Key: key, Leaf: leaf, Chain: chain}, nil
}

// SignPayload implements Signer.
func (s *CertSigner) SignPayload(_ context.Context, payloadType string, payload []byte) (*protobundle.Bundle, error) {
	sig, err := signECDSA(s.Key, PAE(payloadType, payload))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	certs := []*protocommon.X509Certificate{{RawBytes: s.Leaf.Raw}}
	for _, c := range s.Chain {
		certs = append(certs, &protocommon.X509Certificate{RawBytes: c.Raw})
	}
	vm := &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_X509CertificateChain{
		X509CertificateChain: &protocommon.X509CertificateChain{Certificates: certs},
	}}
	return newBundle(vm, payloadType, payload, sig), nil
}

// CertVerifier verifies certificate bundles: the chain in the bundle (leaf
// first) must lead to one of Roots, valid at the leaf's notBefore, and the
// leaf must allow code signing.
type CertVerifier struct {
	Roots *x509.CertPool
}

// VerifyBundle implements Verifier.
func (v *CertVerifier) VerifyBundle(_ context.Context, b *protobundle.Bundle) ([]byte, error) {
	env, err := envelopeOf(b)
	if err != nil {
		return nil, err
	}
	vm := b.GetVerificationMaterial()
	switch vm.GetContent().(type) {
	case *protobundle.VerificationMaterial_X509CertificateChain:
	case *protobundle.VerificationMaterial_PublicKey:
		return nil, invalid("bundle is signed with a key (it carries a public key hint, not a certificate chain): verify it with --key")
	case *protobundle.VerificationMaterial_Certificate:
		return nil, invalid("bundle is signed keyless with Sigstore: verify it with --identity and --issuer")
	default:
		return nil, invalid("bundle has no certificate chain")
	}
	raw := vm.GetX509CertificateChain().GetCertificates()
	if len(raw) == 0 {
		return nil, invalid("bundle's certificate chain is empty")
	}
	if len(raw) > maxChainLength {
		return nil, invalid("bundle's certificate chain has %d certificates, more than %d", len(raw), maxChainLength)
	}
	leaf, err := x509.ParseCertificate(raw[0].GetRawBytes())
	if err != nil {
		return nil, invalid("bundle's signing certificate does not parse: %v", err)
	}
	inter := x509.NewCertPool()
	for i, c := range raw[1:] {
		cert, err := x509.ParseCertificate(c.GetRawBytes())
		if err != nil {
			return nil, invalid("bundle's chain certificate %d does not parse: %v", i+1, err)
		}
		inter.AddCert(cert)
	}
	// The leaf's own usages first: they give a more precise reason than
	// the path check's "incompatible key usage".
	if !hasCodeSigning(leaf) {
		return nil, invalid("signing certificate %q lacks the code-signing extended key usage", leaf.Subject.String())
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.Roots,
		Intermediates: inter,
		CurrentTime:   leaf.NotBefore,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}); err != nil {
		return nil, invalid("signing certificate %q is not trusted: %v", leaf.Subject.String(), err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, invalid("signing certificate %q does not allow digital signatures (key usage)", leaf.Subject.String())
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, invalid("signing certificate's key is %T, want ECDSA", leaf.PublicKey)
	}
	if err := verifyEnvelopeSig(pub, crypto.SHA256, env.GetPayloadType(), env.GetPayload(), sigBytes(env.GetSignatures())); err != nil {
		return nil, err
	}
	return env.GetPayload(), nil
}

func hasCodeSigning(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageCodeSigning || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}
