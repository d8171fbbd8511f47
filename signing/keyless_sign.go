package signing

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// Public-good Sigstore service URLs.
const (
	PublicFulcioURL = "https://fulcio.sigstore.dev"
	PublicRekorURL  = "https://rekor.sigstore.dev"
)

// maxServiceResponse bounds what is read from Fulcio and Rekor.
const maxServiceResponse = 4 << 20

// SigstoreSigner signs keyless: an ephemeral P-256 key is certified by
// Fulcio for the OIDC identity in IDToken, the DSSE envelope is recorded
// in Rekor (v1 API, dsse entry), and the bundle carries the leaf
// certificate and the log entry with its inclusion promise and proof.
//
// It talks to the services' REST APIs directly: sigstore-go v1.3.0's
// pkg/sign does not build against golang.org/x/crypto v0.59.0.
type SigstoreSigner struct {
	FulcioURL string // default PublicFulcioURL
	RekorURL  string // default PublicRekorURL
	IDToken   string // raw OIDC identity token (JWT)
	Client    *http.Client
}

func (s *SigstoreSigner) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: 60 * time.Second}
}

// tokenSubject is the identity Fulcio certifies: the verified e-mail, or
// the subject.
func tokenSubject(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("signing: identity token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", fmt.Errorf("signing: identity token payload: %w", err)
	}
	var c struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
		Subject  string `json:"sub"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("signing: identity token claims: %w", err)
	}
	if c.Email != "" {
		if !c.Verified {
			return "", errors.New("signing: identity token e-mail is not verified")
		}
		return c.Email, nil
	}
	if c.Subject == "" {
		return "", errors.New("signing: identity token has no subject")
	}
	return c.Subject, nil
}

func (s *SigstoreSigner) post(ctx context.Context, url string, body any, headers map[string]string, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxServiceResponse))
	if err != nil {
		return fmt.Errorf("signing: reading %s: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("signing: %s: %s: %s", url, resp.Status, bytes.TrimSpace(rb))
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("signing: %s: bad response: %w", url, err)
	}
	return nil
}

// certify asks Fulcio for a certificate of key and returns the chain, leaf
// first.
func (s *SigstoreSigner) certify(ctx context.Context, key *ecdsa.PrivateKey) ([]*x509.Certificate, error) {
	subject, err := tokenSubject(s.IDToken)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(subject))
	pop, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return nil, err
	}
	pubPEM, err := PublicKeyPEM(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	req := map[string]any{
		"credentials": map[string]any{"oidcIdentityToken": s.IDToken},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]any{"algorithm": "ECDSA", "content": string(pubPEM)},
			"proofOfPossession": base64.StdEncoding.EncodeToString(pop),
		},
	}
	type chain struct {
		Chain struct {
			Certificates []string `json:"certificates"`
		} `json:"chain"`
	}
	var resp struct {
		Embedded *chain `json:"signedCertificateEmbeddedSct"`
		Detached *chain `json:"signedCertificateDetachedSct"`
	}
	base := strings.TrimRight(cmpOr(s.FulcioURL, PublicFulcioURL), "/")
	if err := s.post(ctx, base+"/api/v2/signingCert", req, map[string]string{"Authorization": "Bearer " + s.IDToken}, &resp); err != nil {
		return nil, err
	}
	c := resp.Embedded
	if c == nil {
		c = resp.Detached
	}
	if c == nil || len(c.Chain.Certificates) == 0 {
		return nil, errors.New("signing: Fulcio returned no certificate")
	}
	var certs []*x509.Certificate
	for _, p := range c.Chain.Certificates {
		cs, err := ParseCertificates([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("signing: Fulcio certificate: %w", err)
		}
		certs = append(certs, cs...)
	}
	if pub, ok := certs[0].PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("signing: Fulcio certified another key")
	}
	return certs, nil
}

// rekorEntry is Rekor v1's LogEntryAnon.
type rekorEntry struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogID          string `json:"logID"`
	LogIndex       int64  `json:"logIndex"`
	Verification   struct {
		InclusionProof *struct {
			Checkpoint string   `json:"checkpoint"`
			Hashes     []string `json:"hashes"`
			LogIndex   int64    `json:"logIndex"`
			RootHash   string   `json:"rootHash"`
			TreeSize   int64    `json:"treeSize"`
		} `json:"inclusionProof"`
		SignedEntryTimestamp string `json:"signedEntryTimestamp"`
	} `json:"verification"`
}

// record uploads the envelope to Rekor as a dsse v0.0.1 entry.
func (s *SigstoreSigner) record(ctx context.Context, envelopeJSON []byte, leaf *x509.Certificate) (*protorekor.TransparencyLogEntry, error) {
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	req := map[string]any{
		"apiVersion": "0.0.1",
		"kind":       "dsse",
		"spec": map[string]any{"proposedContent": map[string]any{
			"envelope":  string(envelopeJSON),
			"verifiers": []string{base64.StdEncoding.EncodeToString(certPEM)},
		}},
	}
	var resp map[string]rekorEntry
	base := strings.TrimRight(cmpOr(s.RekorURL, PublicRekorURL), "/")
	if err := s.post(ctx, base+"/api/v1/log/entries", req, nil, &resp); err != nil {
		return nil, err
	}
	if len(resp) != 1 {
		return nil, fmt.Errorf("signing: Rekor returned %d entries, want 1", len(resp))
	}
	var e rekorEntry
	for _, v := range resp {
		e = v
	}
	body, err1 := base64.StdEncoding.DecodeString(e.Body)
	logID, err2 := hex.DecodeString(e.LogID)
	set, err3 := base64.StdEncoding.DecodeString(e.Verification.SignedEntryTimestamp)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("signing: bad Rekor entry: %w", err)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return nil, fmt.Errorf("signing: bad Rekor entry body: %w", err)
	}
	tle := &protorekor.TransparencyLogEntry{
		LogIndex:          e.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    e.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		CanonicalizedBody: body,
	}
	if p := e.Verification.InclusionProof; p != nil {
		root, err := hex.DecodeString(p.RootHash)
		if err != nil {
			return nil, fmt.Errorf("signing: bad Rekor inclusion proof: %w", err)
		}
		proof := &protorekor.InclusionProof{LogIndex: p.LogIndex, RootHash: root, TreeSize: p.TreeSize,
			Checkpoint: &protorekor.Checkpoint{Envelope: p.Checkpoint}}
		for _, h := range p.Hashes {
			hb, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("signing: bad Rekor inclusion proof: %w", err)
			}
			proof.Hashes = append(proof.Hashes, hb)
		}
		tle.InclusionProof = proof
	}
	return tle, nil
}

// SignPayload implements Signer.
func (s *SigstoreSigner) SignPayload(ctx context.Context, payloadType string, payload []byte) (*protobundle.Bundle, error) {
	if s.IDToken == "" {
		return nil, errors.New("signing: keyless signing needs an OIDC identity token")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	certs, err := s.certify(ctx, key)
	if err != nil {
		return nil, err
	}
	sig, err := signECDSA(key, PAE(payloadType, payload))
	if err != nil {
		return nil, err
	}
	envJSON, err := json.Marshal(map[string]any{
		"payload":     base64.StdEncoding.EncodeToString(payload),
		"payloadType": payloadType,
		"signatures":  []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}},
	})
	if err != nil {
		return nil, err
	}
	tle, err := s.record(ctx, envJSON, certs[0])
	if err != nil {
		return nil, err
	}
	vm := &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: certs[0].Raw}},
		TlogEntries: []*protorekor.TransparencyLogEntry{tle},
	}
	return newBundle(vm, payloadType, payload, sig), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
