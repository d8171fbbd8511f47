package signing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// MaxBundleSize bounds the bundle files read.
const MaxBundleSize = 512 << 20

// Signer signs a DSSE payload and returns the Sigstore bundle that carries
// the envelope and the verification material.
type Signer interface {
	SignPayload(ctx context.Context, payloadType string, payload []byte) (*protobundle.Bundle, error)
}

// Verifier checks a bundle's signature and signer and returns the verified
// DSSE payload. Errors for bad or untrusted signatures wrap
// ErrInvalidSignature.
type Verifier interface {
	VerifyBundle(ctx context.Context, b *protobundle.Bundle) (payload []byte, err error)
}

// PAE is the DSSE v1 pre-authentication encoding.
func PAE(payloadType string, payload []byte) []byte {
	var b strings.Builder
	b.Grow(len(payload) + len(payloadType) + 32)
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return []byte(b.String())
}

// LegacyPAE is the encoding model_signing v0.2.0 signed by mistake: the
// prefix "DSSEV1" and the payload rendered as a Python bytes literal
// (b'...'). Verification accepts it for old bundles; nothing signs with it.
func LegacyPAE(payloadType string, payload []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "DSSEV1 %d %s %d ", len(payloadType), payloadType, len(payload))
	b.WriteString(pyBytesRepr(payload))
	return []byte(b.String())
}

// pyBytesRepr renders p as Python's repr(bytes) does.
func pyBytesRepr(p []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(p) + 3)
	b.WriteByte('b')
	b.WriteByte(quote)
	const hexdigits = "0123456789abcdef"
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// ReadBundle parses a Sigstore bundle (JSON). Unknown fields, which older
// reference versions wrote, are ignored. Errors wrap ErrInvalidSignature.
func ReadBundle(data []byte) (*protobundle.Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, invalid("bundle of %d bytes exceeds the %d byte limit", len(data), MaxBundleSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid("bundle is empty")
	}
	var b protobundle.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &b); err != nil {
		if !json.Valid(data) {
			return nil, invalid("bundle is not a valid Sigstore bundle: not JSON, or truncated or corrupted (%v)", err)
		}
		return nil, invalid("bundle is not a valid Sigstore bundle: %v", err)
	}
	if b.GetVerificationMaterial() == nil {
		return nil, invalid("bundle has no verificationMaterial")
	}
	if b.GetDsseEnvelope() == nil {
		return nil, invalid("bundle has no dsseEnvelope")
	}
	return &b, nil
}

// MarshalBundle renders b as JSON with protojson.
func MarshalBundle(b *protobundle.Bundle) ([]byte, error) {
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("signing: encoding bundle: %w", err)
	}
	// protojson varies its whitespace on purpose; write stable bytes.
	var buf bytes.Buffer
	if err := json.Compact(&buf, out); err != nil {
		return nil, fmt.Errorf("signing: encoding bundle: %w", err)
	}
	return buf.Bytes(), nil
}

// envelopeOf checks the parts of a bundle every key and certificate
// verifier relies on and returns the DSSE envelope.
func envelopeOf(b *protobundle.Bundle) (*protodsse.Envelope, error) {
	if mt := b.GetMediaType(); mt != BundleMediaType {
		return nil, invalid("bundle media type is %q, want %q", mt, BundleMediaType)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, invalid("bundle has no dsseEnvelope")
	}
	if err := checkEnvelope(env); err != nil {
		return nil, err
	}
	return env, nil
}

func checkEnvelope(env *protodsse.Envelope) error {
	if env.GetPayloadType() != PayloadType {
		return invalid("DSSE payload type is %q, want %q", env.GetPayloadType(), PayloadType)
	}
	if len(env.GetSignatures()) == 0 {
		return invalid("DSSE envelope has no signature")
	}
	if len(env.GetSignatures()) > 16 {
		return invalid("DSSE envelope has %d signatures, more than 16", len(env.GetSignatures()))
	}
	if len(env.GetPayload()) == 0 {
		return invalid("DSSE envelope has an empty payload")
	}
	return nil
}

func newBundle(vm *protobundle.VerificationMaterial, payloadType string, payload, sig []byte) *protobundle.Bundle {
	return &protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     payload,
			PayloadType: payloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
}

func sigBytes(sigs []*protodsse.Signature) [][]byte {
	out := make([][]byte, 0, len(sigs))
	for _, s := range sigs {
		out = append(out, s.GetSig())
	}
	return out
}
