package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunScript runs examples/run.sh end to end with a freshly built mlsec
// (the README's one command). Skipped with -short.
func TestRunScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole example pipeline")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mlsec")
	build := exec.Command("go", "build", "-o", bin, "../cmd/mlsec")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := filepath.Join(tmp, "work")
	cmd := exec.Command("bash", "run.sh", work)
	cmd.Env = append(os.Environ(), "MLSEC="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"PASS intake base-model",
		"FAIL intake evil-bert",
		"PASS data gate reviews",
		"PASS experimentation gate base-model",
		"ci gate sentiment-model",
		"PASS cd gate sentiment-model",
		"trust: verified → released",
		"PASS serving gate sentiment-model",
		"SLSA build level: L2",
		"FAIL serving gate sentiment-model",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, f := range []string{"scorecard.html", "coverage.html", "models/sentiment/claims.jsonl"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestJourneyScript runs examples/journey.sh (the lifecycle journey with
// default flags, docs/lifecycle.md) with a freshly built mlsec; the script
// checks every decision and trust state itself. Skipped with -short.
func TestJourneyScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole journey")
	}
	for _, tool := range []string{"bash", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mlsec")
	build := exec.Command("go", "build", "-o", bin, "../cmd/mlsec")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command("bash", "journey.sh", filepath.Join(tmp, "work"))
	cmd.Env = append(os.Environ(), "MLSEC="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "journey: every stage as expected") {
		t.Fatalf("journey.sh: %v\n%s", err, out)
	}
	// cd -> serving goes through the registry wherever docker-registry is
	// installed (the script fails by itself under MLSEC_REQUIRE_REGISTRY
	// when it is not).
	if _, err := exec.LookPath("docker-registry"); err == nil {
		for _, want := range []string{"cd -> serving: through the registry (oci://127.0.0.1:", "gate serving: PASS", "to serving/sentiment: modelpack"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("journey output lacks %q\n%s", want, out)
			}
		}
	} else {
		t.Logf("docker-registry not installed: the journey copied the model from cd to serving")
	}
}
