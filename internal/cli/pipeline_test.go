package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 12 §4: without a pipeline file, the gates that need roles say how
// to get them; mlsec pipeline init writes a valid starter file from the
// keys given, with which the planning gate passes.
func TestPipelineInitAndPlanning(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir, "org")
	writeKeyPair(t, dir, "sec")
	tm := filepath.Join(dir, "threat-model.md")
	os.WriteFile(tm, []byte("# Threat model\n"), 0o644)
	org := filepath.Join(dir, "org.pem")
	mustRunT(t, 0, "sign", tm, "--key", org)

	out := mustRunT(t, 1, "gate", "--stage", "planning", "--key", org, tm)
	if !strings.Contains(out, "FAIL PLAN-001") || !strings.Contains(out, "there is no pipeline file") ||
		!strings.Contains(out, "mlsec pipeline init writes a starter one") {
		t.Errorf("planning without a pipeline file: %s", out)
	}

	t.Chdir(dir)
	mustRunT(t, 2, "pipeline", "init")                              // no identity
	mustRunT(t, 2, "pipeline", "init", "--identity", "org=org.pem") // a private key
	mustRunT(t, 2, "pipeline", "init", "--identity", "org=org.pub", "--artifact", "model-card=x")
	out = mustRunT(t, 0, "pipeline", "init", "--identity", "org=org.pub", "--identity", "security-engineer=sec.pub",
		"--artifact", "threat-model=threat-model.md", "--source", "https://huggingface.co/acme/")
	if !strings.Contains(out, "wrote pipeline.yaml: 2 identities, 6 roles, 1 artifacts") {
		t.Errorf("pipeline init: %s", out)
	}
	data, _ := os.ReadFile("pipeline.yaml")
	for _, want := range []string{`{name: "org", key: "org.pub"}`, `security-engineer: ["security-engineer"]`, `model-owner: ["org"]`,
		`{name: "threat-model.md", kind: threat-model, path: "threat-model.md"}`, `approver_roles: [model-owner]`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("pipeline.yaml lacks %q:\n%s", want, data)
		}
	}
	mustRunT(t, 2, "pipeline", "init", "--identity", "org=org.pub") // exists
	mustRunT(t, 0, "roles", "--pipeline", "pipeline.yaml")
	out = mustRunT(t, 0, "gate", "--stage", "planning", "--pipeline", "pipeline.yaml", "--key", org, tm)
	if !strings.HasPrefix(out, "PASS planning gate") {
		t.Errorf("planning with the starter pipeline: %s", out)
	}
}

// A wrong --framework lists the valid values (issue 12 §6).
func TestFrameworkFlagListsValues(t *testing.T) {
	out := mustRunT(t, 2, "frameworks", "coverage", "--framework", "owasp-llm")
	if !strings.Contains(out, `--framework "owasp-llm": unknown framework (want one of `) || !strings.Contains(out, "owasp-llm-2025") {
		t.Errorf("--framework typo: %s", out)
	}
}
