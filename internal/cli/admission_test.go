package cli

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

func TestAdmissionUsage(t *testing.T) {
	dir := t.TempDir()
	crt, key := writeTestPair(t, dir)
	base := []string{"admission", "serve", "--addr", "127.0.0.1:0", "--tls-cert", crt, "--tls-key", key, "--server", "http://127.0.0.1:1"}
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(&pk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubKey := filepath.Join(dir, "org.pub")
	if err := os.WriteFile(pubKey, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no tls", []string{"admission", "serve", "--server", "http://x"}, "--tls-cert and --tls-key are required"},
		{"no server", []string{"admission", "serve", "--tls-cert", crt, "--tls-key", key}, "--server URL is required"},
		{"no token", base, "no API token"},
		{"bad kinds", append(base, "--token-file", crt, "--unknown-kinds", "maybe"), "deny or allow"},
		{"missing vsa key", append(base, "--token-file", crt, "--vsa-key", filepath.Join(dir, "none.pub")), "--vsa-key"},
		{"bad timeout", append(base, "--token-file", crt, "--timeout", "1m"), "--timeout must be"},
		{"registry resolve without trust", append(base, "--token-file", crt, "--registry-resolve"), "--registry-resolve needs trust flags"},
		{"missing trust key", append(base, "--token-file", crt, "--key", filepath.Join(dir, "none.pub")), "none.pub"},
		{"bad registry ca", append(base, "--token-file", crt, "--key", pubKey, "--ca-file", crt+".none"), "--ca-file"},
		{"bad url", []string{"admission", "serve", "--tls-cert", crt, "--tls-key", key, "--server", "ftp://x", "--token-file", crt}, "must be http(s)"},
	} {
		t.Setenv("MLSEC_TOKEN", "")
		var out, errb strings.Builder
		code := Run(context.Background(), c.args, strings.NewReader(""), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s: exit %d, %q; want 2 with %q", c.name, code, errb.String(), c.want)
		}
	}
}

// TestAdmissionServe runs mlsec serve and mlsec admission serve as a user
// would and sends one review: an unknown model is denied, a plain Pod
// admitted.
func TestAdmissionServe(t *testing.T) {
	data := t.TempDir()
	srv, _, stop := startServe(t, data, "--inline")
	defer stop()
	url, client := startAdmission(t, "--server", srv, "--token-file", filepath.Join(data, "admin.token"))
	for _, c := range []struct {
		fixture string
		allowed bool
		want    string
	}{
		{"pod-annotation-dryrun.json", false, "is not a known artifact"},
		{"pod-plain.json", true, "no model reference"},
	} {
		body, err := os.ReadFile(filepath.Join("..", "..", "admission", "testdata", c.fixture))
		if err != nil {
			t.Fatal(err)
		}
		if allowed, msg := review(t, client, url, string(body)); allowed != c.allowed || !strings.Contains(msg, c.want) {
			t.Errorf("%s: allowed=%v %q; want allowed=%v with %q", c.fixture, allowed, msg, c.allowed, c.want)
		}
	}
}

// startAdmission runs mlsec admission serve with args (besides its
// address and TLS pair) until the test ends, and returns its review URL
// and a client that trusts its certificate.
func startAdmission(t *testing.T, args ...string) (string, *http.Client) {
	t.Helper()
	dir := t.TempDir()
	crt, key := writeTestPair(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"admission", "serve", "--addr", "127.0.0.1:0", "--tls-cert", crt, "--tls-key", key, "--log-level", "warn"}, args...),
			strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("admission serve exited %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("admission serve did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(strings.TrimPrefix(line, "mlsec admission webhook on "))
	if !strings.HasPrefix(url, "https://127.0.0.1:") || !strings.HasSuffix(url, "/validate") {
		t.Fatalf("startup line %q", line)
	}
	caPEM, _ := os.ReadFile(crt)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return url, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
}

// review posts an AdmissionReview and returns its verdict.
func review(t *testing.T, client *http.Client, url, body string) (bool, string) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rev struct {
		Response struct {
			Allowed bool `json:"allowed"`
			Status  struct {
				Message string `json:"message"`
			} `json:"status"`
		} `json:"response"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rev); err != nil {
		t.Fatal(err)
	}
	return rev.Response.Allowed, rev.Response.Status.Message
}

// writeKeyPair writes an ECDSA P-256 key pair as name.pem (PKCS #8) and
// name.pub (PKIX) into dir.
func writeKeyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pp}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// writeTestPair writes a self-signed certificate for 127.0.0.1 and its key.
func writeTestPair(t *testing.T, dir string) (crt, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	crt, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return crt, key
}

// TestAdmissionRegistryJourney runs the normal flow with the commands a
// user runs: mlsec sign, mlsec attest scan and mlsec push to
// docker-registry over TLS; the server (mlsec serve, trusting the
// organisation's key, signing its decisions) knows the model by its OMS
// root digest only; mlsec admission serve with --key and --ca-file admits
// an InferenceService whose storageUri is the reference push printed.
func TestAdmissionRegistryJourney(t *testing.T) {
	reg := ocitest.StartDistribution(t)
	dir := t.TempDir()
	orgPriv, orgPub := writeKeyPair(t, dir, "org")
	gatePriv, _ := writeKeyPair(t, dir, "gate")
	model := filepath.Join(dir, "sentiment")
	if err := os.MkdirAll(model, 0o755); err != nil {
		t.Fatal(err)
	}
	weights, err := os.ReadFile(filepath.Join("..", "..", "format", "safetensors", "testdata", "valid-small.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(model, "model.safetensors"), weights, 0o644)
	os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"model_type":"bert","hidden_size":4}`), 0o644)
	run := func(args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		if code := Run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("mlsec %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	run("sign", model, "--key", orgPriv)
	run("attest", "scan", "--key", orgPriv, model)
	pinned := strings.TrimSpace(run("push", "--ca-file", reg.CAFile, model, "oci://"+reg.Host+"/team/sentiment:v1"))
	root, err := attest.SignedDigest(filepath.Join(model, "model.sig"))
	if err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	base, do, stop := startServe(t, data, "--inline", "--trust-key", orgPub, "--signing-key", gatePriv)
	defer stop()
	must := func(method, path, body string, want int) {
		t.Helper()
		if code, out := do(method, path, body); code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, out)
		}
	}
	must("POST", "/api/v1/artifacts", `{"digest":"`+string(root)+`","name":"sentiment","kind":"model","directory":true,"source":"https://ci.example/builds/7"}`, http.StatusCreated)
	sig, _ := os.ReadFile(filepath.Join(model, "model.sig"))
	must("POST", "/api/v1/attestations", string(sig), http.StatusCreated)
	claims, _ := os.ReadFile(filepath.Join(model, "claims.jsonl"))
	must("POST", "/api/v1/attestations", strings.TrimSpace(string(claims)), http.StatusCreated)
	must("POST", "/api/v1/artifacts/"+string(root)+"/override", `{"to":"released","reason":"journey"}`, http.StatusOK)
	must("POST", "/api/v1/artifacts/"+string(root)+"/gate", `{"stage":"serving"}`, http.StatusOK)

	url, client := startAdmission(t, "--server", base, "--token-file", filepath.Join(data, "admin.token"),
		"--key", orgPub, "--ca-file", reg.CAFile, "--registry-config", filepath.Join(dir, "no-docker-config.json"))
	isvc, err := os.ReadFile(filepath.Join("..", "..", "admission", "testdata", "isvc-create.json"))
	if err != nil {
		t.Fatal(err)
	}
	const fixtureRef = "oci://registry.example.com/team/iris@sha256:8d9f3a6c1b2e4f7a0c5d8e9f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	if !strings.Contains(string(isvc), fixtureRef) {
		t.Fatal("fixture changed")
	}
	allowed, msg := review(t, client, url, strings.ReplaceAll(string(isvc), fixtureRef, pinned))
	if !allowed || !strings.Contains(msg, "is artifact "+string(root)+" (resolved through the registry") {
		t.Errorf("allowed=%v %q; want the pushed model admitted through the registry", allowed, msg)
	}
}
