package signing

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
)

// ErrKey reports an unusable key file.
var ErrKey = errors.New("signing: bad key")

// ParsePrivateKey reads an ECDSA P-256, P-384 or P-521 private key from PEM
// (SEC 1 "EC PRIVATE KEY" or PKCS #8 "PRIVATE KEY"); text around the PEM
// block is skipped. A file holding another kind of key, a public key or a
// certificate is refused with an error that says so.
func ParsePrivateKey(data []byte) (*ecdsa.PrivateKey, error) {
	var seen []string
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return nil, noKeyError("private", seen)
		}
		var key any
		var err error
		switch blk.Type {
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			return nil, unsupportedKey("RSA")
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: encrypted private keys are not supported; decrypt it first", ErrKey)
		default:
			seen = append(seen, blk.Type)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKey, err)
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, unsupportedKey(keyKind(key))
		}
		if _, err := curveHash(&ec.PublicKey); err != nil {
			return nil, err
		}
		return ec, nil
	}
}

// ParsePublicKey reads an ECDSA public key from a PEM "PUBLIC KEY" block.
// A file holding another kind of key, a private key or a certificate is
// refused with an error that says so.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	var seen []string
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return nil, noKeyError("public", seen)
		}
		switch blk.Type {
		case "PUBLIC KEY":
		case "RSA PUBLIC KEY":
			return nil, unsupportedKey("RSA")
		default:
			seen = append(seen, blk.Type)
			continue
		}
		key, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKey, err)
		}
		ec, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return nil, unsupportedKey(keyKind(key))
		}
		if _, err := curveHash(ec); err != nil {
			return nil, err
		}
		return ec, nil
	}
}

func unsupportedKey(kind string) error {
	return fmt.Errorf("%w: %s key; only ECDSA P-256, P-384 and P-521 keys are supported", ErrKey, kind)
}

// keyKind names the algorithm of a parsed key for error messages.
func keyKind(key any) string {
	switch key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "RSA"
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "X25519"
	}
	return fmt.Sprintf("%T", key)
}

// noKeyError explains why no key of the wanted kind ("private" or
// "public") was found, given the PEM block types that were skipped.
func noKeyError(want string, seen []string) error {
	other := map[string]string{"private": "public", "public": "private"}[want]
	for _, typ := range seen {
		switch {
		case typ == "CERTIFICATE":
			hint := "pass the signer's public key"
			if want == "private" {
				hint = "pass the certificate's private key with --key and the certificate with --certificate"
			}
			return fmt.Errorf("%w: the file holds a certificate, not a %s key: %s", ErrKey, want, hint)
		case strings.HasSuffix(typ, other+" KEY") || strings.HasSuffix(typ, strings.ToUpper(other)+" KEY"):
			hint := "sign needs the private key"
			if want == "public" {
				hint = "verify needs the public key (e.g. openssl ec -in KEY.pem -pubout)"
			}
			return fmt.Errorf("%w: the file holds a %s key, not a %s key: %s", ErrKey, other, want, hint)
		}
	}
	if len(seen) > 0 {
		return fmt.Errorf("%w: no PEM %s key found (the file holds %s)", ErrKey, want, strings.Join(seen, ", "))
	}
	return fmt.Errorf("%w: no PEM %s key found", ErrKey, want)
}

// curveHash is the digest the reference pairs with each curve.
func curveHash(pub *ecdsa.PublicKey) (crypto.Hash, error) {
	switch pub.Curve {
	case elliptic.P256():
		return crypto.SHA256, nil
	case elliptic.P384():
		return crypto.SHA384, nil
	case elliptic.P521():
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: unsupported curve %s (want P-256, P-384 or P-521)", ErrKey, pub.Curve.Params().Name)
}

// PublicKeyPEM renders pub as the PEM text Python's cryptography writes.
func PublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PublicKeyHint is the hex SHA-256 of the public key's PEM text: the hint
// the reference records in key bundles.
func PublicKeyHint(pub *ecdsa.PublicKey) (string, error) {
	p, err := PublicKeyPEM(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:]), nil
}

func signECDSA(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	h, err := curveHash(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(msg)
	return ecdsa.SignASN1(rand.Reader, key, d.Sum(nil))
}

func verifyECDSA(pub *ecdsa.PublicKey, h crypto.Hash, msg, sig []byte) bool {
	d := h.New()
	d.Write(msg)
	return ecdsa.VerifyASN1(pub, d.Sum(nil), sig)
}

// verifyEnvelopeSig checks the envelope's signatures with pub over the DSSE
// PAE, then over v0.2.0's faulty encoding with legacyHash.
func verifyEnvelopeSig(pub *ecdsa.PublicKey, legacyHash crypto.Hash, payloadType string, payload []byte, sigs [][]byte) error {
	h, err := curveHash(pub)
	if err != nil {
		return invalid("%v", err)
	}
	pae := PAE(payloadType, payload)
	for _, s := range sigs {
		if verifyECDSA(pub, h, pae, s) {
			return nil
		}
	}
	legacy := LegacyPAE(payloadType, payload)
	for _, s := range sigs {
		if verifyECDSA(pub, legacyHash, legacy, s) {
			return nil
		}
	}
	return invalid("DSSE signature does not verify with the signer's public key")
}

// KeySigner signs with an ECDSA private key (the reference's "key" method).
type KeySigner struct {
	Key *ecdsa.PrivateKey
}

// SignPayload implements Signer: the bundle carries the public key hint.
func (s *KeySigner) SignPayload(_ context.Context, payloadType string, payload []byte) (*protobundle.Bundle, error) {
	hint, err := PublicKeyHint(&s.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	sig, err := signECDSA(s.Key, PAE(payloadType, payload))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	vm := &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{
		PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint},
	}}
	return newBundle(vm, payloadType, payload, sig), nil
}

// KeyVerifier verifies key bundles with an ECDSA public key.
type KeyVerifier struct {
	Key *ecdsa.PublicKey
	Log *slog.Logger // optional, warns about bundles without a key hint
}

// VerifyBundle implements Verifier.
func (v *KeyVerifier) VerifyBundle(_ context.Context, b *protobundle.Bundle) ([]byte, error) {
	env, err := envelopeOf(b)
	if err != nil {
		return nil, err
	}
	vm := b.GetVerificationMaterial()
	switch vm.GetContent().(type) {
	case *protobundle.VerificationMaterial_PublicKey:
	case *protobundle.VerificationMaterial_X509CertificateChain:
		return nil, invalid("bundle is signed with a certificate chain, not a key: verify it with --ca-bundle")
	case *protobundle.VerificationMaterial_Certificate:
		return nil, invalid("bundle is signed keyless with Sigstore, not a key: verify it with --identity and --issuer")
	default:
		return nil, invalid("bundle has no public key verification material")
	}
	want, err := PublicKeyHint(v.Key)
	if err != nil {
		return nil, err
	}
	if hint := vm.GetPublicKey().GetHint(); hint != "" {
		if hint != want {
			return nil, invalid("key mismatch: signed with another key (the bundle's public key hint is %s, the given key's is %s)", hint, want)
		}
	} else if v.Log != nil {
		v.Log.Warn("the signature has no public key hint (older model_signing); re-sign to record one")
	}
	h, _ := curveHash(v.Key)
	if err := verifyEnvelopeSig(v.Key, h, env.GetPayloadType(), env.GetPayload(), sigBytes(env.GetSignatures())); err != nil {
		return nil, err
	}
	return env.GetPayload(), nil
}
