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
	"sync/atomic"
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
	log atomic.Pointer[ca.VirtualSigstore]
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
	v := &virtualServices{VirtualSigstore: vs, fulcioKey: midKey}
	v.log.Store(vs)
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
	log := v.log.Load()
	entry, err := log.GenerateTlogEntry(certs[0], &env, sig, now, true)
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

// TestKeylessSignEndToEnd signs models keyless through sigstore-go's
// pkg/sign against the virtual Fulcio and Rekor, and verifies the bundles
// with SigstoreVerifier against the VirtualSigstore trusted material.
func TestKeylessSignEndToEnd(t *testing.T) {
	ctx := context.Background()
	const issuer, identity = "https://issuer.test", "alice@example.com"
	v := newVirtualServices(t)
	token := fakeToken(map[string]any{"sub": "123", "email": identity, "email_verified": true, "iss": issuer})
	signer := &SigstoreSigner{FulcioURL: v.srv.URL, RekorURL: v.srv.URL, IDToken: token, TrustedMaterial: v}
	good := &SigstoreVerifier{TrustedMaterial: v, Identity: identity, Issuer: issuer}
	// The same log, another Fulcio CA.
	otherFulcio := &virtualServices{VirtualSigstore: v.VirtualSigstore, fulcio: newVirtualServices(t).fulcio}
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
			{"other Sigstore", &SigstoreVerifier{TrustedMaterial: newVirtualServices(t), Identity: identity, Issuer: issuer}, "transparency log"},
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
	v := newVirtualServices(t)
	for _, tt := range []struct{ token, reason string }{
		{"", "needs an OIDC identity token"},
		{"not-a-jwt", "subject"},
		{fakeToken(map[string]any{"email": "a@b.c", "iss": "https://issuer.test"}), "not verified"},
	} {
		s := &SigstoreSigner{FulcioURL: v.srv.URL, RekorURL: v.srv.URL, IDToken: tt.token}
		if _, err := s.SignPayload(ctx, PayloadType, []byte("{}")); err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("token %q: err = %v, want %q", tt.token, err, tt.reason)
		}
	}

	token := fakeToken(map[string]any{"sub": "bob", "iss": "https://issuer.test"})
	other, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	v.log.Store(other)
	dir := fixture(t, "sample_model_file")
	s := &SigstoreSigner{FulcioURL: v.srv.URL, RekorURL: v.srv.URL, IDToken: token, TrustedMaterial: v}
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
	v.log.Store(v.VirtualSigstore)
	if _, err := Sign(ctx, dir, s, HashOptions{}); err != nil {
		t.Errorf("trusted log again: %v", err)
	}
}
