package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	os.Mkdir(tlsDir, 0o755)
	caFile, certFile, keyFile := ocitest.WriteTLS(t, tlsDir)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--log-level", "error",
			"--tls-cert", certFile, "--tls-key", keyFile}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base, _, _ := strings.Cut(strings.TrimPrefix(line, "mlsec serving on "), " ")
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("startup line %q", line)
	}
	client := func(ca string) *http.Client {
		pool := x509.NewCertPool()
		b, _ := os.ReadFile(ca)
		pool.AppendCertsFromPEM(b)
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	get := func(c *http.Client) (*http.Response, error) {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := get(client(caFile))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz over TLS: %v %v", resp, err)
	}
	if r, err := http.Get(strings.Replace(base, "https", "http", 1) + "/healthz"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS port")
		}
	}
	// A renewed certificate (from another CA here) is served without a
	// restart.
	newDir := filepath.Join(dir, "tls2")
	os.Mkdir(newDir, 0o755)
	ca2, cert2, key2 := ocitest.WriteTLS(t, newDir)
	time.Sleep(10 * time.Millisecond)
	for _, p := range [][2]string{{cert2, certFile}, {key2, keyFile}} {
		b, _ := os.ReadFile(p[0])
		os.WriteFile(p[1], b, 0o600)
		later := time.Now().Add(time.Second)
		os.Chtimes(p[1], later, later)
	}
	// The files are stat'ed at most once a second (certreload).
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := get(client(caFile))
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("old CA still accepted 5 s after renewal")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp, err := get(client(ca2)); err != nil || resp.StatusCode != 200 {
		t.Errorf("renewed certificate: %v %v", resp, err)
	}
}

func TestServeTLSFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--tls-cert", "x.pem"},
		{"--tls-cert", filepath.Join(dir, "missing.pem"), "--tls-key", filepath.Join(dir, "missing.key")},
	} {
		code := Run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "d")}, args...), strings.NewReader(""), io.Discard, io.Discard)
		if code != 2 {
			t.Errorf("serve %v exited %d, want 2", args, code)
		}
	}
}
