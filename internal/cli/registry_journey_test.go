package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// TestRegistryJourney moves a model from cd to serving through a real
// registry (docker-registry over TLS): the model is signed, its provenance,
// evaluation and AI-BOM recorded, the ci and cd gates pass (released);
// it is pushed, and a serving node pulls it by digest with --stage serving:
// the released trust state travelled in the claims referrers, so the
// serving gate passes and the model lands. A model that was never released
// is refused at the same pull.
func TestRegistryJourney(t *testing.T) {
	reg := ocitest.StartDistribution(t)
	dir := t.TempDir()
	priv, pub := pullKeyPair(t, dir, "org")
	must := func(args ...string) runResult {
		t.Helper()
		r := mlsecRun(t, args...)
		if r.code != 0 {
			t.Fatalf("mlsec %s: %+v", strings.Join(args, " "), r)
		}
		return r
	}
	reviews := filepath.Join(dir, "reviews")
	os.MkdirAll(reviews, 0o755)
	os.WriteFile(filepath.Join(reviews, "train.jsonl"), []byte(`{"text":"good","label":1}`+"\n"), 0o644)
	must("sign", reviews, "--key", priv)
	model := filepath.Join(dir, "sentiment")
	copyFile(t, "../../format/safetensors/testdata/valid-small.safetensors", filepath.Join(model, "model.safetensors"))
	os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"model_type":"bert","hidden_size":4}`), 0o644)
	metrics := filepath.Join(dir, "metrics.json")
	os.WriteFile(metrics, []byte(`{"accuracy": 0.93}`), 0o644)
	must("sign", model, "--key", priv)
	must("attest", "provenance", "--model", model, "--dataset", reviews, "--code", "git+https://git.example/train@2222222222222222222222222222222222222222",
		"--builder-id", "https://ci.example/gpu", "--run-type", "fine-tuning", "--key", priv)
	must("attest", "eval", "--metrics", metrics, "--threshold", "accuracy>=0.9", "--key", priv, model)
	must("attest", "bom", "--key", priv, model)

	// Not released yet: the serving pull refuses it.
	r := must("push", "--ca-file", reg.CAFile, model, "oci://"+reg.Host+"/team/sentiment:candidate")
	early := strings.TrimSpace(r.stdout)
	dest := filepath.Join(dir, "serving", "sentiment")
	os.MkdirAll(filepath.Dir(dest), 0o755)
	r = mlsecRun(t, "pull", "--ca-file", reg.CAFile, "--key", pub, "--stage", "serving", early, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "trust state is quarantined") {
		t.Fatalf("serving pull of an unreleased model: %+v", r)
	}
	assertUntouched(t, dest)

	if r := must("gate", "--stage", "ci", "--key", priv, model); !strings.Contains(r.stdout, "trust: quarantined → verified") {
		t.Fatalf("ci: %s", r.stdout)
	}
	if r := must("gate", "--stage", "cd", "--key", priv, model); !strings.Contains(r.stdout, "trust: verified → released") {
		t.Fatalf("cd: %s", r.stdout)
	}
	r = must("push", "--ca-file", reg.CAFile, model, "oci://"+reg.Host+"/team/sentiment:v1")
	pinned := strings.TrimSpace(r.stdout)
	if !strings.Contains(r.stderr, "5 claims as referrers") {
		t.Errorf("push: %s", r.stderr)
	}
	r = must("pull", "--ca-file", reg.CAFile, "--key", pub, "--stage", "serving", pinned, dest)
	if !strings.Contains(r.stderr, "gate serving: PASS") || !strings.Contains(r.stdout, "pulled "+pinned+" to "+dest) {
		t.Errorf("serving pull: %+v", r)
	}
	// What landed is the released model with its evidence: the serving
	// gate passes on it where it landed too.
	if r := mlsecRun(t, "gate", "--stage", "serving", "--key", priv, dest); r.code != 0 || !strings.Contains(r.stdout, "trust: released → released") {
		t.Errorf("serving gate on the landed model: %+v", r)
	}
}
