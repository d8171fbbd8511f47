package integrationtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/attest/attesttest"
)

// TestPreCommitHooks runs the hooks of .pre-commit-hooks.yaml with the real
// pre-commit tool (pre-commit try-repo, which builds mlsec from this
// repository with language: golang) over every file of a temporary git
// repository: mlsec, not the file names, decides what is a model file.
func TestPreCommitHooks(t *testing.T) {
	if _, err := exec.LookPath("pre-commit"); err != nil {
		if os.Getenv("MLSEC_REQUIRE_PRECOMMIT") == "1" {
			t.Fatal("pre-commit is not installed and MLSEC_REQUIRE_PRECOMMIT=1 (.ci/run) requires it")
		}
		t.Skip("pre-commit is not installed (Debian package pre-commit; .ci/run installs it): the hooks are not tested")
	}
	if testing.Short() {
		t.Skip("-short: pre-commit builds mlsec")
	}
	root := repoRoot(t)
	home := t.TempDir() // one PRE_COMMIT_HOME: the hook environment is built once per revision
	// pre-commit builds with GOPATH in its environment directory; the
	// module cache stays the machine's (GOMODCACHE), so nothing is
	// downloaded that go test did not already need.
	modcache, code := run(t, root, nil, "go", "env", "GOMODCACHE")
	if code != 0 {
		t.Fatal(modcache)
	}
	env := []string{"PRE_COMMIT_HOME=" + home, "PRE_COMMIT_COLOR=never", "SKIP=", "GOMODCACHE=" + strings.TrimSpace(modcache), "GOFLAGS=-mod=readonly"}
	// The hooks run at the committed HEAD (--ref), so every call shares one
	// hook environment (one build of mlsec); without --ref, a dirty tree
	// makes pre-commit build a shadow commit per call. Commit hook changes
	// before running this test.
	head, code := run(t, root, nil, "git", "rev-parse", "HEAD")
	if code != 0 {
		t.Fatal(head)
	}
	tryRepo := func(dir, hook string) (string, int) {
		t.Helper()
		return run(t, dir, env, "pre-commit", "try-repo", "--ref", strings.TrimSpace(head), root, hook, "--all-files", "--verbose")
	}

	// A clean repository: safetensors weights (named .bin on purpose), a
	// card, Go source and JSON. Nothing for the scan to report.
	clean := t.TempDir()
	copyFixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors", filepath.Join(clean, "weights.bin"))
	write(t, filepath.Join(clean, "README.md"), "# a model\n")
	write(t, filepath.Join(clean, "main.go"), "package main\n\nfunc main() {}\n")
	write(t, filepath.Join(clean, "config.json"), `{"model_type": "llama"}`+"\n")
	gitRepo(t, clean)
	if out, code := tryRepo(clean, "mlsec-scan"); code != 0 {
		t.Fatalf("mlsec-scan on a clean repository: exit %d\n%s", code, out)
	}

	// The same repository is unsigned: weights.bin is a model by content.
	out, code := tryRepo(clean, "mlsec-unsigned")
	if code == 0 || !strings.Contains(out, "weights.bin: unsigned safetensors model file") {
		t.Fatalf("mlsec-unsigned on unsigned weights: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "README.md") || strings.Contains(out, "main.go:") || strings.Contains(out, "config.json:") {
		t.Errorf("mlsec-unsigned named a file that is not a model:\n%s", out)
	}

	// Signed with a real key (OpenSSF Model Signing bundle at weights.bin.sig).
	k := attesttest.NewKey(t)
	attesttest.Sign(t, filepath.Join(clean, "weights.bin"), k.Signer())
	if out, code := run(t, clean, nil, "git", "add", "-A"); code != 0 {
		t.Fatal(out)
	}
	if out, code := tryRepo(clean, "mlsec-unsigned"); code != 0 {
		t.Fatalf("mlsec-unsigned on signed weights: exit %d\n%s", code, out)
	}

	// A pickle that imports os.getcwd, named like a text file: the scan
	// hook fails on it.
	bad := t.TempDir()
	copyFixture(t, "scan/detector/pickle/testdata/bypass/int_digits.pkl", filepath.Join(bad, "notes.txt"))
	write(t, filepath.Join(bad, "README.md"), "# a model\n")
	gitRepo(t, bad)
	out, code = tryRepo(bad, "mlsec-scan")
	if code == 0 || !strings.Contains(out, "PICKLE-001") || !strings.Contains(out, "notes.txt") {
		t.Fatalf("mlsec-scan on a disguised pickle: exit %d\n%s", code, out)
	}
	out, code = tryRepo(bad, "mlsec-unsigned")
	if code == 0 || !strings.Contains(out, "notes.txt: unsigned pickle model file") {
		t.Fatalf("mlsec-unsigned on a disguised pickle: exit %d\n%s", code, out)
	}
}
