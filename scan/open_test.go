//go:build unix

package scan_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/scan"
)

// specialFiles makes a FIFO and a Unix socket in dir and returns their
// paths by kind. A FIFO without a writer blocks a plain open for reading
// forever, so a scan that returns at all has not opened it that way.
func specialFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	fifo := filepath.Join(dir, "pipe.pkl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	sock := filepath.Join(dir, "sock.pkl")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return map[string]string{"named pipe (FIFO)": fifo, "socket": sock}
}

func TestScanSpecialFileAsPath(t *testing.T) {
	dir := t.TempDir()
	paths := specialFiles(t, dir)
	paths["character device"] = os.DevNull
	for kind, p := range paths {
		_, err := scan.NewRunner([]scan.Detector{picklish{}}, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), []string{p})
		var e *mlsec.Error
		if !errors.As(err, &e) || e.Code != mlsec.EINVALID || !strings.Contains(err.Error(), kind) {
			t.Errorf("%s: err %v, want an invalid-input error naming %q", p, err, kind)
		}
	}
}

func TestScanSpecialFileInDir(t *testing.T) {
	dir := t.TempDir()
	paths := specialFiles(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "ok.pkl"), []byte("fine"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := scan.NewRunner([]scan.Detector{picklish{}}, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range res.Artifacts {
		seen[a.Path] = true
		if filepath.Base(a.Path) == "ok.pkl" {
			if a.Verdict == scan.VerdictNotAnalysed {
				t.Errorf("%s: status %s", a.Path, a.Status)
			}
			continue
		}
		if a.Verdict != scan.VerdictNotAnalysed || len(a.Findings) != 1 || a.Findings[0].Severity != mlsec.SeverityHigh {
			t.Errorf("%s: verdict %s findings %+v, want not analysed with one high finding", a.Path, a.Verdict, a.Findings)
		}
	}
	for _, p := range paths {
		if !seen[p] {
			t.Errorf("%s not reported", p)
		}
	}
}
