package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/attest/attesttest"
)

// TestVerifyChainDefaultEvidence: without --evidence, verify-chain searches
// the directory containing PATH (as lineage does), so a parent beside the
// model is found; a parent elsewhere is still reported missing.
func TestVerifyChainDefaultEvidence(t *testing.T) {
	tmp := t.TempDir()
	k := attesttest.NewKey(t)
	priv, pub := k.WriteFiles(t, tmp)
	models := filepath.Join(tmp, "models")
	base := attesttest.Artifact(t, filepath.Join(models, "base"), map[string]string{"weights.bin": "base"})
	tuned := attesttest.Artifact(t, filepath.Join(models, "tuned"), map[string]string{"weights.bin": "tuned"})
	// A second model whose base lies outside its directory.
	apart := attesttest.Artifact(t, filepath.Join(tmp, "apart", "tuned"), map[string]string{"weights.bin": "apart"})
	for _, dir := range []string{base, tuned, apart} {
		if code, out, errs := run(t, "sign", dir, "--key", priv, "--signature", filepath.Join(dir, "model.sig")); code != 0 {
			t.Fatalf("sign %s: %d %s%s", dir, code, out, errs)
		}
	}
	for _, m := range []string{tuned, apart} {
		if code, out, errs := run(t, "attest", "provenance", "--model", m, "--base-model", base, "--run-type", "fine-tuning",
			"--builder-id", "https://ci.example/gpu", "--key", priv); code != 0 {
			t.Fatalf("provenance %s: %d %s%s", m, code, out, errs)
		}
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"default evidence is PATH's directory", []string{tuned}, 0, "OK " + tuned + ": chain verified, 2 links"},
		{"trailing slash", []string{tuned + string(filepath.Separator)}, 0, ": chain verified, 2 links"},
		{"parent outside PATH's directory", []string{apart}, 1, "missing parent"},
		{"explicit --evidence still wins", []string{apart, "--evidence", models}, 0, "OK " + apart + ": chain verified, 2 links"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"verify-chain", "--key", pub}, tc.args...)
			code, out, errs := run(t, args...)
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Errorf("mlsec %s: exit %d, want %d and output containing %q\n%s%s", strings.Join(args, " "), code, tc.wantCode, tc.want, out, errs)
			}
		})
	}
}
