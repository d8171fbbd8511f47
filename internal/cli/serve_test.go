package cli

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/signing"
)

// startServe runs `mlsec serve` on a free port with a fresh data
// directory and extra flags; it returns the base URL, a request function
// authenticated with the bootstrap admin token, and a stop function that
// cancels the context (SIGTERM) and checks serve exits 0.
func startServe(t *testing.T, dir string, extra ...string) (string, func(method, path, body string) (int, string), func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn"}, extra...)
	go func() {
		done <- Run(ctx, args, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no startup line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base, _, _ := strings.Cut(strings.TrimPrefix(line, "mlsec serving on "), " ")
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("startup line %q", line)
	}
	secret, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "admin.token")); fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode %v", fi.Mode().Perm())
	}
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(secret)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	stop := func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("serve exited %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
	return base, do, stop
}

const evilPickle = "\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."

// waitJob polls a queued job until it is done and returns its state.
func waitJob(t *testing.T, do func(method, path, body string) (int, string), statusURL string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s, b := do("GET", statusURL, "")
		var js struct {
			State string `json:"state"`
			Done  bool   `json:"done"`
		}
		if s != 200 || json.Unmarshal([]byte(b), &js) != nil {
			t.Fatalf("job status: %d %s", s, b)
		}
		if js.Done {
			return js.State
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", statusURL, js.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServe starts `mlsec serve` with a fresh data directory, checks the
// bootstrap admin token works, uploads through the encrypted blob store,
// lets the in-process River worker scan the upload, and stops it.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	_, do, stop := startServe(t, dir, "--workers", "1")
	defer stop()
	if s, b := do("GET", "/api/v1/whoami", ""); s != 200 || !strings.Contains(b, `"role":"admin"`) {
		t.Fatalf("whoami: %d %s", s, b)
	}
	s, b := do("POST", "/api/v1/uploads?name=evil.pkl&scan=true", evilPickle)
	var put struct {
		Artifact struct {
			Digest string `json:"digest"`
		} `json:"artifact"`
		Job *struct {
			StatusURL string `json:"status_url"`
		} `json:"job"`
	}
	if s != 201 || json.Unmarshal([]byte(b), &put) != nil || put.Job == nil {
		t.Fatalf("upload: %d %s", s, b)
	}
	if st := waitJob(t, do, put.Job.StatusURL); st != "completed" {
		t.Fatalf("scan job %s", st)
	}
	if s, b := do("GET", "/api/v1/artifacts/"+put.Artifact.Digest+"/findings?min_severity=critical", ""); s != 200 || !strings.Contains(b, "PICKLE-") {
		t.Fatalf("findings of the queued scan: %d %s", s, b)
	}
	blobs, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*", "*.age"))
	if len(blobs) != 1 {
		t.Fatalf("encrypted blobs: %v", blobs)
	}
	raw, _ := os.ReadFile(blobs[0])
	if strings.Contains(string(raw), "system") {
		t.Fatal("blob stored in plaintext")
	}
}

// TestServeInline: --inline scans in the request, without a queue.
func TestServeInline(t *testing.T) {
	_, do, stop := startServe(t, t.TempDir(), "--inline")
	defer stop()
	if s, b := do("POST", "/api/v1/uploads?name=evil.pkl&scan=true", evilPickle); s != 201 || !strings.Contains(b, `"max_severity":"critical"`) {
		t.Fatalf("upload: %d %s", s, b)
	}
	if s, b := do("POST", "/api/v1/hubscans", `{"root":"/"}`); s != 400 || !strings.Contains(b, "job queue") {
		t.Fatalf("hub scan without a queue: %d %s", s, b)
	}
}

// TestServeSigningKeyPipeline: --signing-key signs every gate decision as a
// VSA stored as evidence (signer named by the pipeline identity of that
// key); --pipeline's stage policies decide.
func TestServeSigningKeyPipeline(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "gate.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	pub, _ := signing.PublicKeyPEM(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "gate.pub"), pub, 0o644)
	os.WriteFile(filepath.Join(dir, "strict.yaml"), []byte(`apiVersion: mlsec.dev/policy/v1
name: test/strict
version: 1.0.0
stage: ci
rules:
  - id: STRICT-001
    title: a trusted source
    expr: source.trust == "trusted"
    mappings:
      - {framework: mitre-atlas, id: AML.M0013}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(`apiVersion: mlsec.dev/pipeline/v1
name: test
identities:
  - {name: org-gate, key: gate.pub}
roles:
  platform: [org-gate]
sources:
  - {url: "https://models.example/", trust: trusted}
stages:
  ci:
    policies: [strict.yaml]
`), 0o644)
	_, do, stop := startServe(t, filepath.Join(dir, "data"), "--workers", "1",
		"--signing-key", filepath.Join(dir, "gate.pem"), "--pipeline", filepath.Join(dir, "pipeline.yaml"))
	defer stop()
	d := "sha256:" + strings.Repeat("ab", 32)
	if s, b := do("POST", "/api/v1/artifacts", `{"digest":"`+d+`","name":"m","source":"https://models.example/m"}`); s != 201 {
		t.Fatalf("register: %d %s", s, b)
	}
	s, b := do("POST", "/api/v1/artifacts/"+d+"/gate", `{"stage":"ci"}`)
	var ja struct {
		StatusURL string `json:"status_url"`
	}
	if s != 202 || json.Unmarshal([]byte(b), &ja) != nil {
		t.Fatalf("gate: %d %s", s, b)
	}
	if st := waitJob(t, do, ja.StatusURL); st != "completed" {
		t.Fatalf("gate job %s", st)
	}
	s, b = do("GET", "/api/v1/artifacts/"+d+"/decisions", "")
	var dl struct {
		Decisions []struct {
			Result     string `json:"result"`
			Policy     string `json:"policy"`
			EvidenceID int64  `json:"evidence_id"`
		} `json:"decisions"`
	}
	if s != 200 || json.Unmarshal([]byte(b), &dl) != nil || len(dl.Decisions) != 1 {
		t.Fatalf("decisions: %d %s", s, b)
	}
	dec := dl.Decisions[0]
	if dec.Result != "pass" || dec.Policy != "test/strict@1.0.0" || dec.EvidenceID == 0 {
		t.Fatalf("decision %+v", dec)
	}
	s, b = do("GET", fmt.Sprintf("/api/v1/evidence/%d", dec.EvidenceID), "")
	if s != 200 {
		t.Fatalf("evidence: %d", s)
	}
	st, err := attest.Verify(context.Background(), &signing.KeyVerifier{Key: &key.PublicKey}, []byte(b))
	if err != nil || st.GetPredicateType() != policy.VSAType {
		t.Fatalf("decision evidence: %v (%s)", err, st.GetPredicateType())
	}
	if s, b := do("GET", "/api/v1/artifacts/"+d+"/evidence?predicate_type="+policy.VSAType, ""); s != 200 || !strings.Contains(b, `"signer":"org-gate"`) {
		t.Fatalf("VSA fact: %d %s", s, b)
	}
}

func TestServeBadDatabase(t *testing.T) {
	var stderr strings.Builder
	code := Run(context.Background(), []string{"serve", "--data", t.TempDir(), "--database", "mysql://x"}, strings.NewReader(""), io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "postgres://") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestServeBadLimits: a non-positive size limit is a usage error, not a
// silent fallback to the default.
func TestServeBadLimits(t *testing.T) {
	for _, flag := range []string{"--max-upload", "--max-body"} {
		var stderr strings.Builder
		code := Run(context.Background(), []string{"serve", "--data", t.TempDir(), flag, "-5"}, strings.NewReader(""), io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "positive") {
			t.Errorf("%s -5: exit %d, stderr %q; want 2 and a usage message", flag, code, stderr.String())
		}
	}
}

// TestServeBusyPort: a second serve on a port already in use fails without
// creating its data directory, database or admin token (issue 12: it bound
// last, after writing them).
func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "mlsec-data")
	var stderr strings.Builder
	code := Run(context.Background(), []string{"serve", "--addr", ln.Addr().String(), "--data", data, "--log-level", "warn"},
		strings.NewReader(""), io.Discard, &stderr)
	if code == 0 {
		t.Fatal("serve on a busy port exited 0")
	}
	if !strings.Contains(stderr.String(), "address already in use") {
		t.Errorf("stderr %q does not say the address is in use", stderr.String())
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("serve on a busy port created %s (stat: %v)", data, err)
	}
}
