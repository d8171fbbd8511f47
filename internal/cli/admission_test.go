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
	dir := t.TempDir()
	crt, key := writeTestPair(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"admission", "serve", "--addr", "127.0.0.1:0", "--tls-cert", crt, "--tls-key", key,
			"--server", srv, "--token-file", filepath.Join(data, "admin.token"), "--log-level", "warn"}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("admission serve exited %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("admission serve did not stop")
		}
	}()
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
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
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
		resp, err := client.Post(url, "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		var rev struct {
			Response struct {
				Allowed bool `json:"allowed"`
				Status  struct {
					Message string `json:"message"`
				} `json:"status"`
			} `json:"response"`
		}
		err = json.NewDecoder(resp.Body).Decode(&rev)
		resp.Body.Close()
		if err != nil || rev.Response.Allowed != c.allowed || !strings.Contains(rev.Response.Status.Message, c.want) {
			t.Errorf("%s: %+v (%v); want allowed=%v with %q", c.fixture, rev.Response, err, c.allowed, c.want)
		}
	}
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
