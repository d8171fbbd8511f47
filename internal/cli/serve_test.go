package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe starts `mlsec serve` on a free port with a fresh data
// directory, checks the bootstrap admin token works, uploads through the
// encrypted blob store, and stops it with a cancelled context (SIGTERM).
func TestServe(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn"}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base, _, _ := strings.Cut(strings.TrimPrefix(line, "mlsec serving on "), " ")
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("startup line %q", line)
	}
	secret, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
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
	if s, b := do("GET", "/api/v1/whoami", ""); s != 200 || !strings.Contains(b, `"role":"admin"`) {
		t.Fatalf("whoami: %d %s", s, b)
	}
	if s, b := do("POST", "/api/v1/uploads?name=evil.pkl&scan=true", "\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."); s != 201 || !strings.Contains(b, `"max_severity":"critical"`) {
		t.Fatalf("upload: %d %s", s, b)
	}
	blobs, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*", "*.age"))
	if len(blobs) != 1 {
		t.Fatalf("encrypted blobs: %v", blobs)
	}
	raw, _ := os.ReadFile(blobs[0])
	if strings.Contains(string(raw), "system") {
		t.Fatal("blob stored in plaintext")
	}
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

func TestServeBadDatabase(t *testing.T) {
	var stderr strings.Builder
	code := Run(context.Background(), []string{"serve", "--data", t.TempDir(), "--database", "mysql://x"}, strings.NewReader(""), io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "postgres://") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}
