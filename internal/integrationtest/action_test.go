package integrationtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/attest/attesttest"
)

// runner is one emulated GitHub Actions job: the files and variables the
// runner provides to a composite action's steps.
type runner struct {
	t                             *testing.T
	workspace, temp               string
	summary, output, path, action string
}

func newRunner(t *testing.T) *runner {
	t.Helper()
	r := &runner{t: t, workspace: t.TempDir(), temp: t.TempDir(), action: repoRoot(t)}
	files := t.TempDir()
	r.summary, r.output, r.path = filepath.Join(files, "step_summary.md"), filepath.Join(files, "output"), filepath.Join(files, "path")
	for _, f := range []string{r.summary, r.output, r.path} {
		write(t, f, "")
	}
	return r
}

// step runs run.sh with GitHub's variables, the action's inputs and PATH
// extended by what earlier steps appended to GITHUB_PATH, as the runner
// does.
func (r *runner) step(arg string, inputs map[string]string) (string, int) {
	r.t.Helper()
	b, err := os.ReadFile(r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	path := os.Getenv("PATH")
	for _, p := range strings.Fields(string(b)) {
		path = p + string(os.PathListSeparator) + path
	}
	env := []string{
		"GITHUB_ACTIONS=true", "CI=true", "GITHUB_WORKSPACE=" + r.workspace, "RUNNER_TEMP=" + r.temp,
		"GITHUB_STEP_SUMMARY=" + r.summary, "GITHUB_OUTPUT=" + r.output, "GITHUB_PATH=" + r.path,
		"GITHUB_ACTION_PATH=" + r.action, "ACTION_PATH=" + r.action, "RUNNER_OS=Linux", "PATH=" + path,
	}
	for k, v := range inputs {
		env = append(env, k+"="+v)
	}
	return run(r.t, r.workspace, env, "bash", filepath.Join(r.action, ".github", "actions", "mlsec", "run.sh"), arg)
}

// outputs parses GITHUB_OUTPUT (name=value lines; the last value wins).
func (r *runner) outputs() map[string]string {
	b, err := os.ReadFile(r.output)
	if err != nil {
		r.t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func (r *runner) summaryText() string {
	b, err := os.ReadFile(r.summary)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func TestActionScript(t *testing.T) {
	bin := buildMlsec(t, t.TempDir())

	t.Run("install from source", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: builds mlsec")
		}
		r := newRunner(t)
		if out, code := r.step("install", nil); code != 0 || !strings.Contains(out, "mlsec ") {
			t.Fatalf("install: exit %d\n%s", code, out)
		}
		if got := r.outputs()["mlsec"]; got != filepath.Join(r.temp, "mlsec-bin", "mlsec") {
			t.Errorf("output mlsec = %q", got)
		}
	})

	// setup returns a runner whose install step copied bin (mlsec-binary).
	setup := func(t *testing.T) *runner {
		r := newRunner(t)
		if out, code := r.step("install", map[string]string{"MLSEC_BIN": bin}); code != 0 {
			t.Fatalf("install: exit %d\n%s", code, out)
		}
		return r
	}

	t.Run("clean", func(t *testing.T) {
		r := setup(t)
		copyFixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors", filepath.Join(r.workspace, "model", "model.safetensors"))
		out, code := r.step("run", map[string]string{"MLSEC_PATH": "model"})
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		o := r.outputs()
		if o["findings"] != "0" || o["max-severity"] != "none" || o["verify"] != "skipped" || o["gate"] != "skipped" {
			t.Errorf("outputs %v", o)
		}
		if s := r.summaryText(); !strings.Contains(s, "| scan (fail on high) | passed: 0 finding(s), highest none |") || strings.Contains(s, "### Findings") {
			t.Errorf("summary:\n%s", s)
		}
		sarif(t, o["sarif-file"], 0)
	})

	t.Run("findings", func(t *testing.T) {
		r := setup(t)
		copyFixture(t, "scan/detector/pickle/testdata/bypass/int_digits.pkl", filepath.Join(r.workspace, "weights.txt"))
		out, code := r.step("run", nil)
		if code != 1 || !strings.Contains(out, "::error title=mlsec scan::") {
			t.Fatalf("exit %d, want 1\n%s", code, out)
		}
		o := r.outputs()
		if o["findings"] == "0" || o["max-severity"] != "critical" {
			t.Errorf("outputs %v", o)
		}
		s := r.summaryText()
		for _, want := range []string{"| scan (fail on high) | failed", "### Findings", "| critical | PICKLE-001 | `weights.txt` |"} {
			if !strings.Contains(s, want) {
				t.Errorf("summary lacks %q:\n%s", want, s)
			}
		}
		sarif(t, o["sarif-file"], 1)
		// fail-on none reports but passes.
		if out, code := r.step("run", map[string]string{"MLSEC_FAIL_ON": "none"}); code != 0 {
			t.Errorf("fail-on none: exit %d\n%s", code, out)
		}
	})

	t.Run("verify", func(t *testing.T) {
		r := setup(t)
		model := filepath.Join(r.workspace, "model")
		copyFixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors", filepath.Join(model, "model.safetensors"))
		write(t, filepath.Join(model, "README.md"), "# model\n")
		k := attesttest.NewKey(t)
		attesttest.Sign(t, model, k.Signer())
		_, pub := k.WriteFiles(t, t.TempDir())
		in := map[string]string{"MLSEC_PATH": "model", "MLSEC_VERIFY": "true", "MLSEC_VERIFY_KEY": pub}
		if out, code := r.step("run", in); code != 0 || r.outputs()["verify"] != "passed" {
			t.Fatalf("signed: exit %d, outputs %v\n%s", code, r.outputs(), out)
		}
		write(t, filepath.Join(model, "README.md"), "# changed\n")
		out, code := r.step("run", in)
		if code != 1 || r.outputs()["verify"] != "failed" || !strings.Contains(r.summaryText(), "| verify | failed |") {
			t.Fatalf("tampered: exit %d, outputs %v\n%s\n%s", code, r.outputs(), out, r.summaryText())
		}
	})

	t.Run("gate", func(t *testing.T) {
		r := setup(t)
		copyFixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors", filepath.Join(r.workspace, "model", "model.safetensors"))
		out, code := r.step("run", map[string]string{"MLSEC_PATH": "model", "MLSEC_GATE_STAGE": "serving"})
		if code != 1 || r.outputs()["gate"] != "FAIL" {
			t.Fatalf("unsigned model at serving: exit %d, outputs %v\n%s", code, r.outputs(), out)
		}
		s := r.summaryText()
		for _, want := range []string{"| gate serving | FAIL |", "### Gate serving", "| SERVE-002 | FAIL |"} {
			if !strings.Contains(s, want) {
				t.Errorf("summary lacks %q:\n%s", want, s)
			}
		}
		if _, err := os.Stat(filepath.Join(r.workspace, "model", "claims.jsonl")); err == nil {
			t.Error("a gate without gate-key recorded a decision (want --dry-run)")
		}
	})

	t.Run("errors", func(t *testing.T) {
		r := setup(t)
		if out, code := r.step("run", map[string]string{"MLSEC_PATH": "missing"}); code != 2 {
			t.Errorf("missing path: exit %d\n%s", code, out)
		}
		if out, code := r.step("install", map[string]string{"MLSEC_BIN": filepath.Join(r.temp, "nope")}); code != 2 {
			t.Errorf("bad mlsec-binary: exit %d\n%s", code, out)
		}
		if out, code := r.step("bogus", nil); code != 2 {
			t.Errorf("bad argument: exit %d\n%s", code, out)
		}
	})
}

// sarif checks that path is a SARIF 2.1.0 log with at least min results.
func sarif(t *testing.T, path string, min int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("sarif-file: %v", err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("not SARIF 2.1.0: %v\n%.300s", err, b)
	}
	if strings.Contains(string(b), `"uri": "file://`) || strings.Contains(string(b), `"uri":"file://`) {
		t.Errorf("SARIF has absolute file:// URIs; code scanning cannot place them in the checkout")
	}
	if len(log.Runs[0].Results) < min {
		t.Errorf("%d SARIF results, want at least %d", len(log.Runs[0].Results), min)
	}
}
