// Package sigstoretest runs a keyless Sigstore for tests: sigstore-go's
// pkg/testing/ca VirtualSigstore behind the two HTTP endpoints that
// sigstore-go's pkg/sign calls when signing keyless, Fulcio v2
// POST /api/v2/signingCert and Rekor v1 POST /api/v1/log/entries, so that
// what runs in a test is sigstore-go's real client code.
//
// Rekor is the VirtualSigstore's log (its tlog entries, signed entry
// timestamps and checkpoints). Fulcio must certify the client's ephemeral
// key, which needs the CA's private key; VirtualSigstore keeps its Fulcio
// intermediate key unexported, so the Fulcio CA here is made with the same
// package's GenerateRootCa, GenerateFulcioIntermediate and GenerateLeafCert,
// and the trusted material is the VirtualSigstore with that CA.
//
// Fulcio does not check the identity token's signature: it certifies the
// token's e-mail (else its subject) for its issuer ("iss"), after checking
// the proof of possession of the key.
package sigstoretest

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// Sigstore is a Fulcio CA and a Rekor log served over HTTP at URL (both
// services share it), and the root.TrustedMaterial that trusts them: the
// embedded VirtualSigstore's Rekor log, timestamping authority and CT logs
// (no SCT is embedded in certificates), with the Fulcio CA of this
// Sigstore.
type Sigstore struct {
	*ca.VirtualSigstore
	URL       string // base URL of Fulcio and Rekor
	fulcio    *root.FulcioCertificateAuthority
	fulcioKey crypto.Signer
	log       atomic.Pointer[ca.VirtualSigstore]
}

var _ root.TrustedMaterial = (*Sigstore)(nil)

// New starts a Sigstore, stopped when the test ends.
func New(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	mid, midKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sigstore{VirtualSigstore: vs, fulcioKey: midKey}
	s.log.Store(vs)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", s.signingCert)
	mux.HandleFunc("POST /api/v1/log/entries", s.logEntry)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.fulcio = &root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{mid},
		ValidityPeriodStart: time.Now().Add(-time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour), URI: srv.URL}
	return s
}

// FulcioCertificateAuthorities implements root.TrustedMaterial.
func (s *Sigstore) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return []root.CertificateAuthority{s.fulcio}
}

// RecordIn makes Rekor record entries in log's VirtualSigstore (another
// one than s's simulates a log that the trusted material does not trust);
// nil restores s's own.
func (s *Sigstore) RecordIn(log *ca.VirtualSigstore) {
	s.log.Store(cmp.Or(log, s.VirtualSigstore))
}

// TrustedRootJSON is s's trusted material as a Sigstore trusted root file
// (Fulcio CA and Rekor log), for --trusted-root.
func (s *Sigstore) TrustedRootJSON(t testing.TB) []byte {
	t.Helper()
	logs := map[string]*root.TransparencyLog{}
	for id, l := range s.RekorLogs() {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c := *l
		c.ID = raw // VirtualSigstore holds the hex text, a trusted root the key ID
		logs[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.FulcioCertificateAuthorities(), nil, nil, logs)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Token is an unsigned OIDC identity token (JWT) with claims, e.g.
// {"email": ..., "email_verified": true, "iss": ...}.
func Token(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256"}`))
	c, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2ln"
}

// publicOnly is the crypto.Signer ca.GenerateLeafCert asks for, of which
// it only uses Public: the CA never sees the client's private key.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("sigstoretest: public key only")
}

func parsePEM[T any](s, typ string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != typ {
		return zero, errors.New("sigstoretest: no PEM " + typ)
	}
	return parse(b.Bytes)
}

func (s *Sigstore) signingCert(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(token, ".")
	if !ok || len(parts) != 3 {
		http.Error(w, "no bearer token", http.StatusUnauthorized)
		return
	}
	var claims struct {
		Issuer  string `json:"iss"`
		Subject string `json:"sub"`
		Email   string `json:"email"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &claims) != nil || claims.Issuer == "" {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	subject := cmp.Or(claims.Email, claims.Subject)
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := parsePEM(req.PublicKeyRequest.PublicKey.Content, "PUBLIC KEY", x509.ParsePKIXPublicKey)
	ecPub, _ := pub.(*ecdsa.PublicKey)
	pop, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	sum := sha256.Sum256([]byte(subject))
	if err != nil || ecPub == nil || !ecdsa.VerifyASN1(ecPub, sum[:], pop) {
		http.Error(w, "bad proof of possession", http.StatusBadRequest)
		return
	}
	leaf, err := ca.GenerateLeafCert(subject, claims.Issuer, time.Now().Add(-time.Minute), publicOnly{ecPub}, s.fulcio.Intermediates[0], s.fulcioKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var chain []string
	for _, c := range []*x509.Certificate{leaf, s.fulcio.Intermediates[0], s.fulcio.Root} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

func (s *Sigstore) logEntry(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind string `json:"kind"`
		Spec struct {
			Proposed struct {
				Envelope  string   `json:"envelope"`
				Verifiers [][]byte `json:"verifiers"`
			} `json:"proposedContent"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Kind != "dsse" || len(req.Spec.Proposed.Verifiers) != 1 {
		http.Error(w, "bad entry", http.StatusBadRequest)
		return
	}
	var env dsse.Envelope
	if err := json.Unmarshal([]byte(req.Spec.Proposed.Envelope), &env); err != nil || len(env.Signatures) != 1 {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	sig, err1 := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	leaf, err2 := parsePEM(string(req.Spec.Proposed.Verifiers[0]), "CERTIFICATE", x509.ParseCertificate)
	if err := errors.Join(err1, err2); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now().Unix()
	log := s.log.Load()
	entry, err := log.GenerateTlogEntry(leaf, &env, sig, now, true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	tle := entry.TransparencyLogEntry()
	body := base64.StdEncoding.EncodeToString(tle.CanonicalizedBody)
	logID := hex.EncodeToString(tle.LogId.KeyId)
	set, err := log.RekorSignPayload(tlog.RekorPayload{Body: body, IntegratedTime: now, LogIndex: tle.LogIndex, LogID: logID})
	proof, err2 := log.GetInclusionProof(tle.CanonicalizedBody)
	if err := errors.Join(err, err2); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if proof.Hashes == nil {
		proof.Hashes = []string{}
	}
	leafHash := sha256.Sum256(append([]byte{0}, tle.CanonicalizedBody...))
	uuid := hex.EncodeToString(leafHash[:])
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{uuid: map[string]any{
		"body": body, "integratedTime": now, "logID": logID, "logIndex": tle.LogIndex,
		"verification": map[string]any{"signedEntryTimestamp": set, "inclusionProof": proof},
	}})
}
