// Package attest builds, signs and verifies in-toto v1 attestations about
// models and datasets: SLSA Provenance v1 for training, fine-tuning,
// quantization and conversion runs, mlsec scan results, evaluation results
// (the in-toto test-result predicate) and CycloneDX AI-BOMs.
//
// Every statement's subject is the artifact's OpenSSF Model Signing root
// digest, so an attestation pairs up with the artifact's signature. Signed
// attestations are Sigstore bundles (DSSE), produced and checked with the
// signing package's Signer and Verifier (key, certificate or keyless), and
// kept beside the artifact in an append-only claims file (see ReadClaims
// and AppendClaim).
package attest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	ita1 "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlsecops/mlsec/signing"
)

// Predicate types written and understood by this package.
const (
	// ProvenanceType is SLSA Provenance v1.
	ProvenanceType = "https://slsa.dev/provenance/v1"
	// ScanType is mlsec's scan result predicate: the mlsec.scan/v1 document
	// (docs/attest.md).
	ScanType = "https://mlsec.dev/attestation/scan/v1"
	// TestResultType is the in-toto test-result predicate, used for
	// evaluation results.
	TestResultType = "https://in-toto.io/attestation/test-result/v0.1"
	// CycloneDXType is the CycloneDX BOM predicate type (AI-BOM).
	CycloneDXType = "https://cyclonedx.org/bom"
	// StatementType is the in-toto v1 Statement type.
	StatementType = ita1.StatementTypeUri
	// PayloadType is the DSSE payload type of in-toto statements.
	PayloadType = signing.PayloadType
)

// Limits on untrusted attestation input.
const (
	// MaxStatementSize bounds a statement payload.
	MaxStatementSize = 16 << 20
	// MaxDependencies bounds the resolved dependencies read from provenance.
	MaxDependencies = 10_000
)

// Sentinel errors.
var (
	// ErrMalformed reports a statement or predicate that is not well formed.
	ErrMalformed = errors.New("attest: malformed attestation")
	// ErrSubject reports a statement whose subject is not the artifact.
	ErrSubject = errors.New("attest: subject does not match the artifact")
)

// Digest is an artifact identity: "sha256:" followed by the hex OMS root
// digest (the SHA-256 over the manifest's item digests).
type Digest string

// DigestOf formats a raw root digest.
func DigestOf(root []byte) Digest { return Digest("sha256:" + hex.EncodeToString(root)) }

// ParseDigest accepts "sha256:HEX" or bare 64-digit hex.
func ParseDigest(s string) (Digest, error) {
	h := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%w: %q is not a sha256 digest (want sha256:<64 hex digits>)", ErrMalformed, s)
	}
	return Digest("sha256:" + h), nil
}

// Hex returns the hex part of d.
func (d Digest) Hex() string { return strings.TrimPrefix(string(d), "sha256:") }

// Short is a 12-digit abbreviation for text output.
func (d Digest) Short() string {
	h := d.Hex()
	if len(h) > 12 {
		h = h[:12]
	}
	return "sha256:" + h
}

// Subject names the artifact an attestation is about.
type Subject struct {
	Name   string
	Digest Digest
}

func (s Subject) descriptor() *ita1.ResourceDescriptor {
	return &ita1.ResourceDescriptor{Name: s.Name, Digest: map[string]string{"sha256": s.Digest.Hex()}}
}

// Statement is a parsed in-toto v1 statement.
type Statement struct {
	*ita1.Statement
}

// Subjects returns the statement's sha256 subject digests.
func (s Statement) Subjects() []Digest {
	var out []Digest
	for _, rd := range s.GetSubject() {
		if h, ok := rd.GetDigest()["sha256"]; ok {
			if d, err := ParseDigest(h); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// About reports whether d is one of the statement's subjects.
func (s Statement) About(d Digest) bool {
	for _, x := range s.Subjects() {
		if x == d {
			return true
		}
	}
	return false
}

// NewStatement wraps predicate (any protobuf message, a structpb.Struct
// included) in an in-toto v1 Statement about subject and renders it as
// canonical JSON: compact, object keys sorted, so that equal statements
// are equal bytes (golden tests rely on it).
func NewStatement(subject Subject, predicateType string, predicate proto.Message) ([]byte, error) {
	if _, err := ParseDigest(string(subject.Digest)); err != nil {
		return nil, err
	}
	pred, err := toStruct(predicate)
	if err != nil {
		return nil, err
	}
	st := &ita1.Statement{
		Type:          StatementType,
		Subject:       []*ita1.ResourceDescriptor{subject.descriptor()},
		PredicateType: predicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return marshalCanonical(st)
}

// toStruct converts a protobuf message to a structpb.Struct via JSON.
func toStruct(m proto.Message) (*structpb.Struct, error) {
	if s, ok := m.(*structpb.Struct); ok {
		return s, nil
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("attest: encoding predicate: %w", err)
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("attest: encoding predicate: %w", err)
	}
	return &s, nil
}

// structOf converts a JSON-compatible Go value to a structpb.Struct.
func structOf(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("attest: encoding predicate: %w", err)
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("attest: encoding predicate: %w", err)
	}
	return &s, nil
}

// marshalCanonical renders m with protojson, then re-encodes it with sorted
// keys and no insignificant whitespace (protojson varies its spacing).
func marshalCanonical(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("attest: encoding statement: %w", err)
	}
	return canonicalJSON(b)
}

func canonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("attest: encoding statement: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("attest: encoding statement: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseStatement reads an in-toto v1 statement from a DSSE payload and
// checks that it is well formed: statement type, at least one subject with
// a digest, a predicate type and a predicate. It does not judge the
// predicate; see CheckPredicate.
func ParseStatement(payload []byte) (Statement, error) {
	if len(payload) > MaxStatementSize {
		return Statement{}, fmt.Errorf("%w: statement of %d bytes exceeds %d", ErrMalformed, len(payload), MaxStatementSize)
	}
	var st ita1.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(payload, &st); err != nil {
		return Statement{}, fmt.Errorf("%w: statement is not an in-toto v1 statement: %v", ErrMalformed, err)
	}
	if err := st.Validate(); err != nil {
		return Statement{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if st.GetType() != StatementType {
		return Statement{}, fmt.Errorf("%w: statement type %q, want %q", ErrMalformed, st.GetType(), StatementType)
	}
	return Statement{&st}, nil
}

// CheckPredicate checks that the statement's predicate is well formed for
// its type. Unknown predicate types are accepted as opaque.
func CheckPredicate(st Statement) error {
	switch st.GetPredicateType() {
	case ProvenanceType:
		_, err := ProvenanceOf(st)
		return err
	case ScanType:
		_, err := ScanOf(st)
		return err
	case TestResultType:
		_, err := TestResultOf(st)
		return err
	case CycloneDXType:
		return checkBOM(st)
	}
	return nil
}

// Sign signs a rendered statement (NewStatement) with signer and returns
// the Sigstore bundle as one line of compact JSON, without a newline.
func Sign(ctx context.Context, signer signing.Signer, statement []byte) ([]byte, error) {
	b, err := signer.SignPayload(ctx, PayloadType, statement)
	if err != nil {
		return nil, err
	}
	return signing.MarshalBundle(b)
}

// Verify checks a bundle's signature with v and returns its statement,
// well formed and with a well-formed predicate. Signature errors wrap
// signing.ErrInvalidSignature; statement errors wrap ErrMalformed.
func Verify(ctx context.Context, v signing.Verifier, bundleJSON []byte) (Statement, error) {
	b, err := signing.ReadBundle(bundleJSON)
	if err != nil {
		return Statement{}, err
	}
	payload, err := v.VerifyBundle(ctx, b)
	if err != nil {
		return Statement{}, err
	}
	st, err := ParseStatement(payload)
	if err != nil {
		return Statement{}, err
	}
	if err := CheckPredicate(st); err != nil {
		return st, err
	}
	return st, nil
}

// AnyVerifier accepts a bundle that any of its verifiers accepts (several
// trusted keys, or a key and a CA). The error of the last verifier is
// returned when none accepts.
type AnyVerifier []signing.Verifier

// VerifyBundle implements signing.Verifier.
func (a AnyVerifier) VerifyBundle(ctx context.Context, b *protobundle.Bundle) ([]byte, error) {
	var errs []error
	for _, v := range a {
		p, err := v.VerifyBundle(ctx, b)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%w: no verifier configured", signing.ErrInvalidSignature)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = strings.TrimPrefix(e.Error(), "signing: invalid signature: ")
	}
	return nil, fmt.Errorf("%w: no trusted signer accepts the bundle: %s", signing.ErrInvalidSignature, strings.Join(msgs, "; "))
}
