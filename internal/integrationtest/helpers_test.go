package integrationtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the mlsec repository root.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// copyFixture copies a committed fixture (relative to the repository root)
// to dst.
func copyFixture(t *testing.T, rel, dst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dst, string(b))
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs name args in dir with env added to the process environment and
// returns its combined output and exit code.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// buildMlsec builds cmd/mlsec into dir and returns its path.
func buildMlsec(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "mlsec")
	if out, code := run(t, repoRoot(t), nil, "go", "build", "-o", bin, "./cmd/mlsec"); code != 0 {
		t.Fatalf("go build: %s", out)
	}
	return bin
}

// gitRepo makes a git repository in dir with files added and committed.
func gitRepo(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{
		{"init", "-q"}, {"config", "user.email", "test@example.com"}, {"config", "user.name", "test"},
		{"config", "commit.gpgsign", "false"}, {"add", "-A"}, {"commit", "-q", "-m", "fixtures"},
	} {
		if out, code := run(t, dir, nil, "git", args...); code != 0 {
			t.Fatalf("git %v: %s", args, out)
		}
	}
}
