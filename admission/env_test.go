package admission_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/mlsecops/mlsec/admission"
	"github.com/mlsecops/mlsec/internal/certreload"
	"github.com/mlsecops/mlsec/server"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// mlsecServer is a real mlsec server (SQLite, encrypted blobs, inline
// checks) on loopback, populated through its API.
type mlsecServer struct {
	t       testing.TB
	url     string
	admin   string // admin token secret
	auditor string // read-only token secret, the webhook's
	org     *signing.KeySigner
	gate    *ecdsa.PrivateKey // signs decisions as VSAs, when set
	close   func()
}

// newMLSecServer starts a server that trusts the organisation's key and,
// when signDecisions, signs gate decisions as VSAs with a gate key.
func newMLSecServer(t testing.TB, signDecisions bool) *mlsecServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.OpenDir(ctx, filepath.Join(dir, "db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := blob.LoadKeyring(filepath.Join(dir, "keys"), true)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blob.Open(filepath.Join(dir, "blobs"), keys)
	if err != nil {
		t.Fatal(err)
	}
	orgKey := newKey(t)
	cfg := server.Config{Store: st, Blobs: server.EncryptedBlobs(bs, 1<<20), Rate: -1, Log: slog.New(slog.DiscardHandler),
		Verifier: &signing.KeyVerifier{Key: &orgKey.PublicKey}, VerifierName: "key:org"}
	var gate *ecdsa.PrivateKey
	if signDecisions {
		gate = newKey(t)
		cfg.Signer, cfg.SignerIdentity = &signing.KeySigner{Key: gate}, "org-gate"
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The bootstrap admin token, as mlsec serve writes to admin.token.
	admin, _, err := st.CreateToken(ctx, store.NewToken{Name: "bootstrap", Role: store.RoleAdmin, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	m := &mlsecServer{t: t, url: hs.URL, admin: admin, org: &signing.KeySigner{Key: orgKey}, gate: gate, close: hs.Close}
	var tc server.TokenCreated
	m.call("POST", "/api/v1/tokens", server.TokenRequest{Name: "admission-webhook", Role: store.RoleAuditor}, http.StatusCreated, &tc)
	m.auditor = tc.Secret
	return m
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// call sends one API request as admin and decodes the answer into out.
func (m *mlsecServer) call(method, path string, in any, want int, out any) {
	m.t.Helper()
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			m.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, m.url+path, body)
	if err != nil {
		m.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+m.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		m.t.Fatalf("%s %s: %d %s (want %d)", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			m.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// safetensors returns a small clean safetensors file whose one weight is
// w: different w, different model.
func safetensors(w byte) []byte {
	hdr := `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	var b bytes.Buffer
	n := uint64(len(hdr))
	for i := range 8 {
		b.WriteByte(byte(n >> (8 * i)))
	}
	b.WriteString(hdr)
	b.Write([]byte{0, 0, w, 0x3f})
	return b.Bytes()
}

// model is how far a test model goes through the lifecycle.
type model struct {
	source  string
	weight  byte
	sign    bool             // OpenSSF Model Signing signature by the org key
	state   store.TrustState // set by an audited override ("" stays quarantined)
	serving bool             // request the serving gate
	after   store.TrustState // a second override after the gate (e.g. revoked)
}

// add uploads the model (scanned inline), signs it, moves its state and
// gates it, all through the API, and returns its digest.
func (m *mlsecServer) add(md model) store.Digest {
	m.t.Helper()
	name := "model.safetensors"
	data := safetensors(md.weight)
	q := url.Values{"name": {name}, "kind": {"model"}, "source": {md.source}, "scan": {"true"}}
	var put server.ArtifactPut
	m.call("POST", "/api/v1/uploads?"+q.Encode(), data, http.StatusCreated, &put)
	d := put.Artifact.Digest
	if md.sign {
		p := filepath.Join(m.t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			m.t.Fatal(err)
		}
		res, err := signing.Sign(context.Background(), p, m.org, signing.HashOptions{})
		if err != nil {
			m.t.Fatal(err)
		}
		var ar server.AttestationResult
		m.call("POST", "/api/v1/attestations", res.Bundle, http.StatusCreated, &ar)
		if !ar.Verified {
			m.t.Fatalf("signature of %s not verified: %+v", md.source, ar)
		}
	}
	override := func(to store.TrustState) {
		m.call("POST", "/api/v1/artifacts/"+string(d)+"/override", server.OverrideRequest{To: to, Reason: "admission test"}, http.StatusOK, nil)
	}
	if md.state != "" {
		override(md.state)
	}
	if md.serving {
		m.call("POST", "/api/v1/artifacts/"+string(d)+"/gate", server.GateRequest{Stage: "serving"}, http.StatusOK, nil)
	}
	if md.after != "" {
		override(md.after)
	}
	return d
}

// certPair writes a self-signed certificate for 127.0.0.1 and its key to
// dir as name.crt and name.key and returns the certificate.
func certPair(t testing.TB, dir, name, cn string) *x509.Certificate {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"mlsec-admission.mlsec-system.svc"},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	write := func(p string, b []byte) {
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil { // atomic, as the kubelet swaps a Secret volume
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
	write(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// webhook is an admission webhook served over HTTPS on loopback.
type webhook struct {
	url    string
	client *http.Client
}

func startWebhook(t testing.TB, cfg admission.Config) *webhook {
	t.Helper()
	dir := t.TempDir()
	cert := certPair(t, dir, "tls", "mlsec-admission")
	certs, err := certreload.New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	wh, err := admission.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- admission.Serve(ctx, ln, wh, certs, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("webhook serve: %v", err)
		}
	})
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &webhook{url: "https://" + ln.Addr().String() + admission.Path,
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}}
}

// review posts an AdmissionReview body as the API server does and returns
// the response.
func (w *webhook) review(t testing.TB, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := w.client.Post(w.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d %s", resp.StatusCode, b)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("webhook answer %s: %v", b, err)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("webhook answer is not an admission.k8s.io/v1 AdmissionReview response: %s", b)
	}
	var in admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	if out.Response.UID != in.Request.UID {
		t.Fatalf("response uid %q, request uid %q", out.Response.UID, in.Request.UID)
	}
	return out.Response
}

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// with replaces every old in s with new (each pair), failing when an old
// is absent: a fixture edit must not silently test nothing.
func with(t testing.TB, s string, pairs ...string) []byte {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("fixture lacks %q", pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return []byte(s)
}

// startHang serves HTTP that never answers until the test ends.
func startHang(t testing.TB) string {
	t.Helper()
	stop := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); hs.Close() })
	return hs.URL
}
