package confine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlsecops/mlsec/confine"
)

func TestRoots(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(root, "model.bin"), []byte("ok"), 0o600))
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "escape")))
	must(os.Symlink("model.bin", filepath.Join(root, "inner")))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600))
	must(os.MkdirAll(filepath.Join(root, "repo", "snapshots", "abc"), 0o700))
	must(os.MkdirAll(filepath.Join(root, "repo", "blobs"), 0o700))
	must(os.WriteFile(filepath.Join(root, "repo", "blobs", "b1"), []byte("w"), 0o600))
	must(os.Symlink("../../blobs/b1", filepath.Join(root, "repo", "snapshots", "abc", "model.safetensors")))
	must(os.MkdirAll(filepath.Join(root, "bad"), 0o700))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "bad", "weights.bin")))
	must(os.MkdirAll(filepath.Join(root, "fifodir"), 0o700))
	must(syscall.Mkfifo(filepath.Join(root, "fifodir", "x"), 0o600))

	r, err := confine.New("--source-root", "artifact source", root)
	must(err)
	tests := []struct {
		path string
		ok   bool
	}{
		{filepath.Join(root, "model.bin"), true},
		{filepath.Join(root, "inner"), true},
		{filepath.Join(root, "repo", "snapshots", "abc"), true},
		{filepath.Join(root, "escape"), false},
		{filepath.Join(root, "fifo"), false},
		{filepath.Join(root, "..", filepath.Base(outside), "secret"), false},
		{filepath.Join(outside, "secret"), false},
		{"/etc/passwd", false},
		{"/dev/zero", false},
		{"/proc/self/environ", false},
		{"relative/model.bin", false},
		{filepath.Join(root, "missing"), false},
		{filepath.Join(root, "bad"), false},
		{filepath.Join(root, "fifodir"), false},
	}
	for _, tt := range tests {
		_, _, err := r.Check(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s) = %v, want ok=%v", tt.path, err, tt.ok)
		}
		if err != nil && !errors.Is(err, confine.ErrRefused) {
			t.Errorf("Check(%s) = %v, not ErrRefused", tt.path, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") && !strings.Contains(tt.path, "secret") {
			t.Errorf("Check(%s) error names the link target: %v", tt.path, err)
		}
	}
	f, err := r.Open(filepath.Join(root, "inner"))
	must(err)
	f.Close()
	for _, p := range []string{filepath.Join(root, "fifo"), filepath.Join(root, "escape"), filepath.Join(root, "repo")} {
		if f, err := r.Open(p); err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", p)
		}
	}
	if _, err := confine.OpenRegular(filepath.Join(root, "inner")); err == nil {
		t.Error("OpenRegular followed a symbolic link")
	}
	if _, err := confine.OpenRegular(filepath.Join(root, "fifo")); err == nil {
		t.Error("OpenRegular opened a FIFO")
	}
}

func TestNoRootsAllowNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.bin")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*confine.Roots{nil, mustNew(t)} {
		_, _, err := r.Check(p)
		if !errors.Is(err, confine.ErrRefused) || !strings.Contains(err.Error(), "not enabled") {
			t.Errorf("Check with no roots = %v", err)
		}
	}
}

func TestNewRefusesDangerousRoots(t *testing.T) {
	for _, d := range []string{"/", "/proc", "/dev", "relative", filepath.Join(t.TempDir(), "missing")} {
		if _, err := confine.New("--hub-root", "hub", d); err == nil {
			t.Errorf("New(%q) accepted", d)
		}
	}
}

func mustNew(t *testing.T) *confine.Roots {
	r, err := confine.New("--source-root", "artifact source")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
