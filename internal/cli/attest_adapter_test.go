package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/attest/attesttest"
)

// TestAttestAdapterMerge records a merge run (base model + LoRA adapter →
// merged model) and reads it back as lineage: the adapter is a parent with
// role adapter, and the adapter's base model and revision are recorded in
// the run's parameters.
func TestAttestAdapterMerge(t *testing.T) {
	tmp := t.TempDir()
	priv, _ := attesttest.NewKey(t).WriteFiles(t, tmp)
	ev := filepath.Join(tmp, "evidence")
	base := attesttest.Artifact(t, filepath.Join(ev, "models", "base"), map[string]string{"weights.bin": "base"})
	cfg, err := os.ReadFile("../../testdata/llm/adapters/ok_pinned/adapter_config.json")
	if err != nil {
		t.Fatal(err)
	}
	adapter := attesttest.Artifact(t, filepath.Join(ev, "adapters", "support-lora"), map[string]string{"adapter_config.json": string(cfg), "adapter_model.safetensors": "x"})
	merged := attesttest.Artifact(t, filepath.Join(ev, "models", "merged"), map[string]string{"weights.bin": "merged"})
	code, out, errs := run(t, "attest", "provenance", "--model", merged, "--base-model", base, "--adapter", adapter,
		"--run-type", "merge", "--builder-id", "https://ci.example/merge", "--key", priv, "--format", "json")
	if code != 0 {
		t.Fatalf("attest provenance: %d %s%s", code, out, errs)
	}
	code, out, errs = run(t, "lineage", merged, "--evidence", ev)
	if code != 0 {
		t.Fatalf("lineage: %d %s%s", code, out, errs)
	}
	for _, want := range []string{"support-lora [adapter]", "base [base-model]", "merge by https://ci.example/merge"} {
		if !strings.Contains(out, want) {
			t.Errorf("lineage lacks %q:\n%s", want, out)
		}
	}
	var params map[string]any
	err = attest.ReadClaimsFile(filepath.Join(merged, "claims.jsonl"), func(c attest.Claim) error {
		st, err := attest.PeekStatement(c.Bundle)
		if err != nil {
			return err
		}
		p, err := attest.ProvenanceOf(st)
		if err != nil {
			return err
		}
		params = p.Parameters
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"adapters": []any{map[string]any{"name": "support-lora", "base_model_name_or_path": "mistralai/Mistral-7B-v0.1",
		"revision": "26bca36bde8333b5d7f72e9ed20ccda6a618af24", "peft_type": "LORA", "task_type": "CAUSAL_LM"}}}
	if d := cmp.Diff(want, params); d != "" {
		t.Errorf("run parameters (-want +got):\n%s", d)
	}
	// A directory that is not a PEFT adapter is refused.
	notAdapter := attesttest.Artifact(t, filepath.Join(tmp, "bad"), map[string]string{"adapter_config.json": `{"r": 1}`})
	if code, _, errs := run(t, "attest", "provenance", "--model", merged, "--adapter", notAdapter, "--builder-id", "b", "--key", priv); code != 2 || !strings.Contains(errs, "not a PEFT adapter") {
		t.Errorf("non-adapter: exit %d %s", code, errs)
	}
}
