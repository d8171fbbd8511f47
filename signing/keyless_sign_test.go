package signing

import (
	"cmp"
	"context"
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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// virtualServices puts sigstore-go's pkg/testing/ca VirtualSigstore behind
// the two HTTP endpoints sigstore-go's pkg/sign calls when signing keyless:
// Fulcio v2 POST /api/v2/signingCert and Rekor v1 POST /api/v1/log/entries.
// What runs in the tests is sigstore-go's real client code (pkg/sign's
// Fulcio and Rekor, rekor's generated client).
//
// Rekor is the VirtualSigstore's log (its tlog entries, signed entry
// timestamps and checkpoints). Fulcio must certify the client's ephemeral
// key, which needs the CA's private key; VirtualSigstore keeps its Fulcio
// intermediate key unexported, so the Fulcio CA here is made with the same
// package's GenerateRootCa, GenerateFulcioIntermediate and GenerateLeafCert,
// and the trusted material is the VirtualSigstore with that CA.
type virtualServices struct {
	*ca.VirtualSigstore // Rekor log, TSA and CT logs of the trusted material
	fulcio              *root.FulcioCertificateAuthority
	fulcioKey           crypto.Signer
	srv                 *httptest.Server
	// log is the VirtualSigstore that records entries; another one than
	// the trusted VirtualSigstore simulates an untrusted log.
	log *ca.VirtualSigstore
}

var _ root.TrustedMaterial = (*virtualServices)(nil)

func newVirtualServices(t *testing.T) *virtualServices {
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
	v := &virtualServices{VirtualSigstore: vs, log: vs, fulcioKey: midKey}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", v.signingCert)
	mux.HandleFunc("POST /api/v1/log/entries", v.logEntry)
	v.srv = httptest.NewServer(mux)
	t.Cleanup(v.srv.Close)
	v.fulcio = &root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{mid},
		ValidityPeriodStart: time.Now().Add(-time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour), URI: v.srv.URL}
	return v
}

// FulcioCertificateAuthorities implements root.TrustedMaterial.
func (v *virtualServices) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return []root.CertificateAuthority{v.fulcio}
}

// fakeToken is an unsigned JWT with claims (Fulcio would check the
// signature; sigstore-go's client only reads the subject).
func fakeToken(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256"}`))
	c, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2ln"
}

// publicOnly is the crypto.Signer ca.GenerateLeafCert asks for, of which
// it only uses Public: the CA never sees the client's private key.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("public key only")
}

func (v *virtualServices) signingCert(w http.ResponseWriter, r *http.Request) {
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
	pub, err := ParsePublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	pop, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	sum := sha256.Sum256([]byte(subject))
	if err != nil || !ecdsa.VerifyASN1(pub, sum[:], pop) {
		http.Error(w, "bad proof of possession", http.StatusBadRequest)
		return
	}
	leaf, err := ca.GenerateLeafCert(subject, claims.Issuer, time.Now().Add(-time.Minute), publicOnly{pub}, v.fulcio.Intermediates[0], v.fulcioKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var chain []string
	for _, c := range []*x509.Certificate{leaf, v.fulcio.Intermediates[0], v.fulcio.Root} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

func (v *virtualServices) logEntry(w http.ResponseWriter, r *http.Request) {
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
	certs, err2 := ParseCertificates(req.Spec.Proposed.Verifiers[0])
	if err := errors.Join(err1, err2); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now().Unix()
	entry, err := v.log.GenerateTlogEntry(certs[0], &env, sig, now, true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	tle := entry.TransparencyLogEntry()
	body := base64.StdEncoding.EncodeToString(tle.CanonicalizedBody)
	logID := hex.EncodeToString(tle.LogId.KeyId)
	set, err := v.log.RekorSignPayload(tlog.RekorPayload{Body: body, IntegratedTime: now, LogIndex: tle.LogIndex, LogID: logID})
	proof, err2 := v.log.GetInclusionProof(tle.CanonicalizedBody)
	if err := errors.Join(err, err2); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
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
