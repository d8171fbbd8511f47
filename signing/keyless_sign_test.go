package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// fakeSigstore is a Fulcio CA and a Rekor v1 log in one test server,
// producing what the public services produce: a Fulcio leaf with the
// OIDC issuer extensions, and a dsse log entry with its signed entry
// timestamp and a signed checkpoint. (sigstore-go's VirtualSigstore cannot
// be used: pkg/testing/ca does not build against golang.org/x/crypto v0.59.)
type fakeSigstore struct {
	t              *testing.T
	srv            *httptest.Server
	caKey, logKey  *ecdsa.PrivateKey
	caRoot, caMid  *x509.Certificate
	midKey         *ecdsa.PrivateKey
	logID          []byte
	issuer         string
	tamperRekorSig bool
}

var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

func newFakeSigstore(t *testing.T, issuer string) *fakeSigstore {
	f := &fakeSigstore{t: t, issuer: issuer,
		caKey: newKey(t, elliptic.P384()), midKey: newKey(t, elliptic.P384()), logKey: newKey(t, elliptic.P256())}
	f.caRoot = issue(t, caTemplate("fake fulcio root", past, soon), nil, &f.caKey.PublicKey, f.caKey)
	mid := caTemplate("fake fulcio intermediate", past, soon)
	mid.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	f.caMid = issue(t, mid, f.caRoot, &f.midKey.PublicKey, f.caKey)
	der, _ := x509.MarshalPKIXPublicKey(&f.logKey.PublicKey)
	sum := sha256.Sum256(der)
	f.logID = sum[:]
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", f.signingCert)
	mux.HandleFunc("POST /api/v1/log/entries", f.logEntry)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSigstore) trustedRoot() root.TrustedMaterial {
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root: f.caRoot, Intermediates: []*x509.Certificate{f.caMid}, ValidityPeriodStart: past, URI: f.srv.URL}},
		nil, nil,
		map[string]*root.TransparencyLog{hex.EncodeToString(f.logID): {
			BaseURL: f.srv.URL, ID: f.logID, ValidityPeriodStart: past, HashFunc: crypto.SHA256,
			PublicKey: &f.logKey.PublicKey, SignatureHashFunc: crypto.SHA256}})
	if err != nil {
		f.t.Fatal(err)
	}
	return tr
}

func fakeToken(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256"}`))
	c, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2ln"
}

func (f *fakeSigstore) signingCert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Credentials struct {
			Token string `json:"oidcIdentityToken"`
		} `json:"credentials"`
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	subject, err := tokenSubject(req.Credentials.Token)
	if err != nil {
		http.Error(w, err.Error(), 401)
		return
	}
	pub, err := ParsePublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	pop, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	sum := sha256.Sum256([]byte(subject))
	if err != nil || !ecdsa.VerifyASN1(pub, sum[:], pop) {
		http.Error(w, "bad proof of possession", 400)
		return
	}
	v2, _ := asn1.MarshalWithParams(f.issuer, "utf8")
	leaf := issue(f.t, &x509.Certificate{
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses:  []string{subject},
		ExtraExtensions: []pkix.Extension{{Id: oidIssuerV1, Value: []byte(f.issuer)}, {Id: oidIssuerV2, Value: v2}},
	}, f.caMid, pub, f.midKey)
	var chain []string
	for _, c := range []*x509.Certificate{leaf, f.caMid, f.caRoot} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	w.WriteHeader(201)
	json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

func (f *fakeSigstore) logEntry(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind string `json:"kind"`
		Spec struct {
			Proposed struct {
				Envelope  string   `json:"envelope"`
				Verifiers []string `json:"verifiers"`
			} `json:"proposedContent"`
		} `json:"spec"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Kind != "dsse" || len(req.Spec.Proposed.Verifiers) != 1 {
		http.Error(w, "bad entry", 400)
		return
	}
	var env struct {
		Payload    string `json:"payload"`
		Signatures []struct {
			Sig string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(req.Spec.Proposed.Envelope), &env); err != nil || len(env.Signatures) != 1 {
		http.Error(w, "bad envelope", 400)
		return
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	ph, eh := sha256.Sum256(payload), sha256.Sum256([]byte(req.Spec.Proposed.Envelope))
	sig := env.Signatures[0].Sig
	if f.tamperRekorSig {
		sig = base64.StdEncoding.EncodeToString([]byte("another signature"))
	}
	body := fmt.Sprintf(`{"apiVersion":"0.0.1","kind":"dsse","spec":{"envelopeHash":{"algorithm":"sha256","value":"%x"},"payloadHash":{"algorithm":"sha256","value":"%x"},"signatures":[{"signature":"%s","verifier":"%s"}]}}`,
		eh, ph, sig, req.Spec.Proposed.Verifiers[0])
	b64 := base64.StdEncoding.EncodeToString([]byte(body))
	now, index := time.Now().Unix(), int64(42)
	logID := hex.EncodeToString(f.logID)
	setPayload := fmt.Sprintf(`{"body":%q,"integratedTime":%d,"logID":%q,"logIndex":%d}`, b64, now, logID, index)
	setSum := sha256.Sum256([]byte(setPayload))
	set, _ := ecdsa.SignASN1(rand.Reader, f.logKey, setSum[:])
	leaf := sha256.Sum256(append([]byte{0}, body...)) // RFC 6962 leaf hash; tree of one
	note := fmt.Sprintf("rekor.test - 1234\n1\n%s\n", base64.StdEncoding.EncodeToString(leaf[:]))
	noteSum := sha256.Sum256([]byte(note))
	noteSig, _ := ecdsa.SignASN1(rand.Reader, f.logKey, noteSum[:])
	hint := make([]byte, 4)
	binary.BigEndian.PutUint32(hint, binary.BigEndian.Uint32(f.logID[:4]))
	checkpoint := note + "\n\u2014 rekor.test " + base64.StdEncoding.EncodeToString(append(hint, noteSig...)) + "\n"
	w.WriteHeader(201)
	json.NewEncoder(w).Encode(map[string]any{"uuid": map[string]any{
		"body": b64, "integratedTime": now, "logID": logID, "logIndex": index,
		"verification": map[string]any{
			"signedEntryTimestamp": base64.StdEncoding.EncodeToString(set),
			"inclusionProof": map[string]any{"checkpoint": checkpoint, "hashes": []string{}, "logIndex": 0,
				"rootHash": hex.EncodeToString(leaf[:]), "treeSize": 1},
		},
	}})
}

// TestKeylessSignEndToEnd signs keyless through the fake Fulcio and Rekor
// and verifies the bundle with sigstore-go against a trusted root naming
// them, checking identity and issuer.
func TestKeylessSignEndToEnd(t *testing.T) {
	const issuer = "https://issuer.test"
	f := newFakeSigstore(t, issuer)
	token := fakeToken(map[string]any{"sub": "123", "email": "alice@example.com", "email_verified": true, "iss": issuer})
	signer := &SigstoreSigner{FulcioURL: f.srv.URL, RekorURL: f.srv.URL, IDToken: token}
	for _, opts := range []HashOptions{{}, {Method: MethodShards, ShardSize: 8, Hash: BLAKE2b}, {Hash: BLAKE3}} {
		dir := fixture(t, "sample_model_folder")
		res, err := Sign(context.Background(), dir, signer, opts)
		if err != nil {
			t.Fatal(err)
		}
		v := &SigstoreVerifier{TrustedMaterial: f.trustedRoot(), Identity: "alice@example.com", Issuer: issuer}
		if _, err := Verify(context.Background(), dir, res.Bundle, v, VerifyOptions{}); err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		for _, bad := range []*SigstoreVerifier{
			{TrustedMaterial: f.trustedRoot(), Identity: "mallory@example.com", Issuer: issuer},
			{TrustedMaterial: f.trustedRoot(), Identity: "alice@example.com", Issuer: "https://accounts.google.com"},
			{TrustedMaterial: newFakeSigstore(t, issuer).trustedRoot(), Identity: "alice@example.com", Issuer: issuer},
			// The fake Fulcio embeds no SCT.
			{TrustedMaterial: f.trustedRoot(), Identity: "alice@example.com", Issuer: issuer, RequireSCT: true},
		} {
			if _, err := Verify(context.Background(), dir, res.Bundle, bad, VerifyOptions{}); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("verifier %s/%s: err = %v, want ErrInvalidSignature", bad.Identity, bad.Issuer, err)
			}
		}
		os.WriteFile(filepath.Join(dir, "f0"), []byte("tampered"), 0o644)
		if _, err := Verify(context.Background(), dir, res.Bundle, v, VerifyOptions{}); !errors.Is(err, ErrMismatch) {
			t.Errorf("tampered: err = %v, want ErrMismatch", err)
		}
	}

	// A log entry that records another signature is refused.
	f.tamperRekorSig = true
	dir := fixture(t, "sample_model_file")
	res, err := Sign(context.Background(), dir, signer, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := &SigstoreVerifier{TrustedMaterial: f.trustedRoot(), Identity: "alice@example.com", Issuer: issuer}
	if _, err := Verify(context.Background(), dir, res.Bundle, v, VerifyOptions{}); !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), "signature does not match") {
		t.Errorf("tampered log entry: err = %v", err)
	}

	// Tokens Fulcio would refuse fail before anything is signed.
	for _, tok := range []string{"not-a-jwt", fakeToken(map[string]any{"email": "a@b.c"})} {
		if _, err := (&SigstoreSigner{FulcioURL: f.srv.URL, RekorURL: f.srv.URL, IDToken: tok}).SignPayload(context.Background(), PayloadType, []byte("{}")); err == nil {
			t.Errorf("token %q: no error", tok)
		}
	}
}
