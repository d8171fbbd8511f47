// Package ocitest starts real OCI registries on loopback for tests: the
// Debian docker-registry (CNCF distribution 2.8, which has no referrers API,
// so clients use the referrers tag schema) behind TLS with a test CA, and
// go-containerregistry's registry package with the OCI 1.1 referrers API
// enabled (distribution v3 does not serve the referrers API; the
// go-containerregistry registry does, and it is already a dependency of
// sigstore-go here).
package ocitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// DistributionBinary is the Debian docker-registry program.
const DistributionBinary = "/usr/bin/docker-registry"

// Registry is a running test registry.
type Registry struct {
	// Host is host:port on 127.0.0.1.
	Host string
	// CAFile is the PEM root of the registry's TLS certificate ("" for
	// plain HTTP).
	CAFile string
	// PlainHTTP is set for registries without TLS.
	PlainHTTP bool
}

// StartDistribution starts docker-registry with TLS on a loopback port and
// stops it when the test ends. Its configuration is distribution's
// default otherwise: the delete API is off (405), as on most registries
// run from the package. It skips the test when the program is not
// installed (apt-get install docker-registry), or fails it when
// MLSEC_REQUIRE_REGISTRY is set (.ci/run sets it).
func StartDistribution(t testing.TB) *Registry {
	t.Helper()
	if _, err := os.Stat(DistributionBinary); err != nil {
		if os.Getenv("MLSEC_REQUIRE_REGISTRY") != "" {
			t.Fatalf("%s not installed and MLSEC_REQUIRE_REGISTRY is set", DistributionBinary)
		}
		t.Skipf("%s not installed (apt-get install docker-registry)", DistributionBinary)
	}
	dir := t.TempDir()
	caFile, certFile, keyFile := WriteTLS(t, dir)
	port := freePort(t)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: 127.0.0.1:%d
  tls:
    certificate: %s
    key: %s
`, filepath.Join(dir, "data"), port, certFile, keyFile)
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(DistributionBinary, "serve", cfgFile)
	logf, _ := os.Create(filepath.Join(dir, "registry.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port), CAFile: caFile}
	pool := x509.NewCertPool()
	pemData, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(pemData)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not start: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartReferrers starts go-containerregistry's registry with the referrers
// API on plain HTTP on loopback. wrap, when not nil, sits in front of it
// (to serve hostile responses).
func StartReferrers(t testing.TB, wrap func(http.Handler) http.Handler) *Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.WithReferrersSupport(true), registry.Logger(nopLogger()))
	if wrap != nil {
		h = wrap(h)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return &Registry{Host: s.Listener.Addr().String(), PlainHTTP: true}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WriteTLS writes a fresh test CA (ca.pem) and a server certificate for
// 127.0.0.1 and localhost (cert.pem, key.pem) into dir.
func WriteTLS(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mlsec test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(p, typ string, b []byte) {
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(caFile, "CERTIFICATE", caDER)
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "PRIVATE KEY", keyDER)
	return caFile, certFile, keyFile
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
