package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Regression test of issue 12 §3: an artifact taken in through intake has
// its source as an upstream parent (URL and digest), never itself, so
// lineage shows no cycle and verify-chain verifies it and everything
// derived from it.
func TestIntakeLineageHasNoCycle(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir, "org")
	org, orgPub := filepath.Join(dir, "org.pem"), filepath.Join(dir, "org.pub")
	base, tuned := filepath.Join(dir, "base"), filepath.Join(dir, "tuned")
	writeTinyModel(t, base, nil)
	writeTinyModel(t, tuned, map[string][]byte{"extra.txt": []byte("tuned")})
	src := "https://huggingface.co/acme/tiny"
	mustRunT(t, 0, "intake", base, "--source", src, "--key", org)

	out := mustRunT(t, 0, "lineage", base)
	if strings.Contains(out, "CYCLE") || !strings.Contains(out, "taken in from "+src+" at sha256:") {
		t.Errorf("lineage of an intake: %s", out)
	}
	out = mustRunT(t, 0, "verify-chain", "--key", orgPub, base)
	if !strings.Contains(out, "taken in from "+src) || !strings.Contains(out, "OK "+base+": chain verified, 1 links") {
		t.Errorf("verify-chain of an intake: %s", out)
	}

	// A fine-tune of the intake's model verifies back to the source.
	mustRunT(t, 0, "sign", tuned, "--key", org)
	mustRunT(t, 0, "attest", "provenance", "--model", tuned, "--base-model", base, "--builder-id", "https://ci.example/gpu",
		"--run-type", "fine-tuning", "--key", org)
	out = mustRunT(t, 0, "verify-chain", "--key", orgPub, tuned)
	if !strings.Contains(out, "OK "+tuned+": chain verified, 2 links") {
		t.Errorf("verify-chain of a fine-tune of an intake: %s", out)
	}
	out = mustRunT(t, 0, "lineage", tuned)
	if strings.Contains(out, "CYCLE") || !strings.Contains(out, "base [base-model]") {
		t.Errorf("lineage of the fine-tune: %s", out)
	}
}

// A cycle is refused when provenance is written: a model cannot be its
// own base model, nor the parent of its own ancestor.
func TestProvenanceCycleRefused(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir, "org")
	org := filepath.Join(dir, "org.pem")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeTinyModel(t, a, map[string][]byte{"a.txt": []byte("a")})
	writeTinyModel(t, b, map[string][]byte{"b.txt": []byte("b")})
	for _, m := range []string{a, b} {
		mustRunT(t, 0, "sign", m, "--key", org)
	}
	prov := func(want int, model, base string) string {
		return mustRunT(t, want, "attest", "provenance", "--model", model, "--base-model", base, "--builder-id", "https://ci.example/b", "--key", org)
	}
	out := prov(2, a, a)
	if !strings.Contains(out, "is its own parent") {
		t.Errorf("self-parent: %s", out)
	}
	prov(0, b, a) // a → b
	out = prov(2, a, b)
	if !strings.Contains(out, "refusing provenance of "+a) || !strings.Contains(out, "would be its own ancestor") {
		t.Errorf("b → a after a → b: %s", out)
	}
	// Nothing was appended for the refused claims.
	data, err := os.ReadFile(filepath.Join(a, "claims.jsonl"))
	if err == nil && len(data) > 0 {
		t.Errorf("a refused provenance was recorded: %s", data)
	}
}

// Intake with --upstream-key expects the publisher's signature: an artifact
// whose signature was stripped (or left in ./model.sig, where the reference
// model_signing writes it) fails INTAKE-003 instead of being re-signed as
// the organisation's, and the failure names the stray ./model.sig without
// using it. Without --upstream-key an unsigned artifact is still taken in.
func TestIntakeUpstreamKeyRequiresSignature(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir, "org")
	writeKeyPair(t, dir, "pub")
	org, pub, pubKey := filepath.Join(dir, "org.pem"), filepath.Join(dir, "pub.pub"), filepath.Join(dir, "pub.pem")
	model := filepath.Join(dir, "m")
	writeTinyModel(t, model, nil)
	t.Chdir(dir)
	mustRunT(t, 0, "sign", model, "--key", pubKey, "--signature", "model.sig")
	out := mustRunT(t, 1, "intake", model, "--source", "https://huggingface.co/acme/m", "--upstream-key", pub, "--key", org)
	if !strings.Contains(out, "FAIL INTAKE-003") || !strings.Contains(out, "the current directory holds model.sig") {
		t.Errorf("intake of a stripped model with --upstream-key: %s", out)
	}
	if _, err := os.Stat(filepath.Join(model, "model.sig")); err == nil {
		t.Error("a failed intake re-signed the model")
	}
	mustRunT(t, 0, "intake", model, "--source", "https://huggingface.co/acme/m", "--key", org)
}
