package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/scratch"
	"github.com/mlsecops/mlsec/store/postgres/pgtest"
)

// TestKillServeDuringWrites kills -9 a `mlsec serve` child process while
// clients register artifacts, upload them and queue scans, restarts it on
// the same data, and checks that nothing it acknowledged is lost, that
// every acknowledged scan job finishes within a minute of the restart
// (jobs in flight at the kill included), that the audit chain verifies,
// and that the dead process's decrypted scratch files are gone.
func TestKillServeDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the mlsec binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "mlsec")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mlsecops/mlsec/cmd/mlsec").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("sqlite", func(t *testing.T) { killServe(t, bin) })
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		schema := pgtest.Schema(t, url)
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		killServe(t, bin, "--database", url+sep+"search_path="+schema, "--workers", "2")
	})
}

type child struct {
	cmd  *exec.Cmd
	base string
}

func startChild(t *testing.T, bin, data string, extra ...string) *child {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "warn", "--rate", "-1"}, extra...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(filepath.Join(data+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("serve log:\n%s", b)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	go io.Copy(io.Discard, out)
	base, _, _ := strings.Cut(strings.TrimPrefix(line, "mlsec serving on "), " ")
	return &child{cmd: cmd, base: base}
}

func killServe(t *testing.T, bin string, extra ...string) {
	data := filepath.Join(t.TempDir(), "data")
	c := startChild(t, bin, data, extra...)
	b, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(string(b))
	client := &http.Client{Timeout: 20 * time.Second}
	call := func(base, method, path, ctype string, body []byte, out any) int {
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0 // the server died under this request: not acknowledged
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		if out != nil && json.Unmarshal(rb, out) != nil {
			return 0
		}
		return resp.StatusCode
	}

	var mu sync.Mutex
	var acked []string // digests the server acknowledged
	var jobs []string  // status URLs of acknowledged scan jobs
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%2 == 0 {
					d := fmt.Sprintf("sha256:%064x", w<<32|i)
					body, _ := json.Marshal(RegisterRequestForTest{Digest: d, Name: fmt.Sprintf("kill/reg-%d-%d", w, i), Kind: "model"})
					if s := call(c.base, "POST", "/api/v1/artifacts", "application/json", body, nil); s == 201 || s == 200 {
						mu.Lock()
						acked = append(acked, d)
						mu.Unlock()
					}
					continue
				}
				// An upload (decrypted by the scan job) and its scan.
				model := []byte(evilPickle + fmt.Sprintf("%d-%d", w, i))
				var put struct {
					Artifact struct {
						Digest string `json:"digest"`
					} `json:"artifact"`
				}
				if s := call(c.base, "POST", fmt.Sprintf("/api/v1/uploads?name=m-%d-%d.pkl", w, i), "application/octet-stream", model, &put); s != 201 && s != 200 {
					continue
				}
				mu.Lock()
				acked = append(acked, put.Artifact.Digest)
				mu.Unlock()
				var job struct {
					StatusURL string `json:"status_url"`
				}
				if s := call(c.base, "POST", "/api/v1/artifacts/"+put.Artifact.Digest+"/scan", "", nil, &job); s == 202 {
					mu.Lock()
					jobs = append(jobs, job.StatusURL)
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		n, nj := len(acked), len(jobs)
		mu.Unlock()
		if n >= 150 && nj >= 20 {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			t.Fatalf("only %d writes and %d jobs acknowledged in two minutes", n, nj)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	close(stop)
	wg.Wait()
	t.Logf("killed serve after %d acknowledged writes and %d acknowledged scan jobs", len(acked), len(jobs))

	restarted := time.Now()
	c = startChild(t, bin, data, extra...)
	for _, d := range acked {
		if s := call(c.base, "GET", "/api/v1/artifacts/"+d, "", nil, nil); s != 200 {
			t.Errorf("acknowledged artifact %s lost: %d", d, s)
		}
	}
	pending := jobs
	for len(pending) > 0 {
		var left []string
		for _, u := range pending {
			var js struct {
				State string `json:"state"`
				Done  bool   `json:"done"`
			}
			if s := call(c.base, "GET", u, "", nil, &js); s != 200 {
				t.Fatalf("job %s after restart: %d", u, s)
			}
			if !js.Done {
				left = append(left, u)
			} else if js.State != "completed" {
				t.Errorf("job %s: %s", u, js.State)
			}
		}
		pending = left
		if len(pending) > 0 && time.Since(restarted) > time.Minute {
			t.Fatalf("%d of %d acknowledged jobs not done a minute after the restart, e.g. %s", len(pending), len(jobs), pending[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("all %d acknowledged jobs done %v after the restart", len(jobs), time.Since(restarted).Round(time.Millisecond))
	var v struct {
		OK bool `json:"ok"`
	}
	if s := call(c.base, "GET", "/api/v1/audit/verify", "", nil, &v); s != 200 || !v.OK {
		t.Errorf("audit chain after the kill: %d %+v", s, v)
	}
	// Only the new process's scratch directory remains.
	ents, err := os.ReadDir(filepath.Join(data, scratch.DirName))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("scratch holds %d directories after the restart, want the new process's only", len(ents))
	}
}

// RegisterRequestForTest mirrors the API's registration body.
type RegisterRequestForTest struct {
	Digest string `json:"digest"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
}
