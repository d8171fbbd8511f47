package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeKeyPair writes NAME.pem and NAME.pub into dir.
func writeKeyPair(t *testing.T, dir, name string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, name+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

// writeTinyModel writes a Hugging Face-style model: config.json and a
// valid safetensors file, plus extra files.
func writeTinyModel(t *testing.T, dir string, extra map[string][]byte) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	hdr := []byte(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`)
	st := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	st = append(append(st, hdr...), make([]byte, 8)...)
	files := map[string][]byte{"model.safetensors": st, "config.json": []byte(`{"model_type":"tiny"}`)}
	for k, v := range extra {
		files[k] = v
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const gatePipeline = `apiVersion: mlsec.dev/pipeline/v1
name: test
identities:
  - {name: org, key: org.pub}
  - {name: sec, key: sec.pub}
roles:
  platform: [org]
  model-owner: [org]
  security-engineer: [sec]
sources:
  - {url: "https://huggingface.co/acme/", trust: untrusted}
artifacts:
  - {name: base, kind: external-model, path: base, source: "https://huggingface.co/acme/tiny", stages: [experimentation]}
  - {name: tuned, kind: model, path: tuned, stages: [ci, cd, serving]}
stages:
  cd:
    policies: [builtin:cd]
    params: {approver_roles: [platform]}
`

type gateJSON struct {
	Result      string `json:"result"`
	Overridden  bool   `json:"overridden"`
	TrustBefore string `json:"trust_before"`
	TrustAfter  string `json:"trust_after"`
	Override    *struct {
		Identity, Reason string
	} `json:"override"`
	Rules []struct {
		Rule, Result, Reason string
		Missing              []string
	} `json:"rules"`
	VSA string `json:"vsa"`
}

func TestGateIntakeCommands(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir, "org")
	writeKeyPair(t, dir, "sec")
	pl := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(pl, []byte(gatePipeline), 0o644)
	base, tuned := filepath.Join(dir, "base"), filepath.Join(dir, "tuned")
	writeTinyModel(t, base, nil)
	writeTinyModel(t, tuned, nil)
	org, sec := filepath.Join(dir, "org.pem"), filepath.Join(dir, "sec.pem")

	// Intake: quarantined → verified, re-signed, provenance recorded.
	code, out, errs := run(t, "intake", base, "--source", "https://huggingface.co/acme/tiny", "--key", org, "--pipeline", pl)
	if code != 0 || !strings.Contains(out, "re-signed with the organisation's key") || !strings.Contains(out, "trust: quarantined → verified") {
		t.Fatalf("intake: %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(base, "model.sig")); err != nil {
		t.Fatal("intake did not sign")
	}
	// The organisation's signature verifies with mlsec verify.
	if code, out, _ := run(t, "verify", base, "--key", filepath.Join(dir, "org.pub"), "--signature", filepath.Join(base, "model.sig")); code != 0 {
		t.Fatalf("verify after intake: %d %s", code, out)
	}

	// The security engineer gates it: PASS, the state stays verified.
	code, out, errs = run(t, "gate", "--stage", "experimentation", "--pipeline", pl, "--key", sec, base)
	if code != 0 || !strings.HasPrefix(out, "PASS experimentation gate base") || !strings.Contains(out, "trust: verified → verified") {
		t.Fatalf("gate experimentation: %d\n%s%s", code, out, errs)
	}

	// A malicious upstream model fails intake and is not re-signed.
	evil := filepath.Join(dir, "evil")
	writeTinyModel(t, evil, map[string][]byte{"pytorch_model.bin": []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")})
	code, out, _ = run(t, "intake", evil, "--source", "https://huggingface.co/acme/evil", "--key", org)
	if code != 1 || !strings.Contains(out, "FAIL INTAKE-002") || !strings.Contains(out, "trust: quarantined → quarantined") {
		t.Fatalf("malicious intake: %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(evil, "model.sig")); err == nil {
		t.Error("a failed intake re-signed the model")
	}

	// Deployment gate on an unsigned model without provenance: FAIL with
	// named missing evidence.
	var g gateJSON
	code, out, errs = run(t, "gate", "--stage", "cd", "--pipeline", pl, "--key", org, "--format", "json", tuned)
	if code != 1 {
		t.Fatalf("gate cd: %d\n%s%s", code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, r := range g.Rules {
		reasons[r.Rule] = r.Result + ": " + r.Reason
	}
	for id, want := range map[string]string{
		"CD-001": `FAIL: trust state is quarantined`,
		"CD-002": "FAIL: missing evidence: signature (the artifact has no signature)",
		"CD-003": "FAIL: missing evidence: provenance (no provenance attestation in the claims)",
	} {
		if reasons[id] != want {
			t.Errorf("%s: got %q, want %q", id, reasons[id], want)
		}
	}
	if g.VSA != filepath.Join(tuned, "claims.jsonl") {
		t.Errorf("VSA written to %q", g.VSA)
	}

	// Break glass: the result stays FAIL, overridden, exit 0.
	code, out, errs = run(t, "gate", "--stage", "cd", "--pipeline", pl, "--key", org, "--format", "json",
		"--identity", "alice@example.com", "--override-reason", "hotfix INC-7", tuned)
	if code != 0 {
		t.Fatalf("override: %d\n%s%s", code, out, errs)
	}
	g = gateJSON{}
	json.Unmarshal([]byte(out), &g)
	if g.Result != "FAIL" || !g.Overridden || g.Override == nil || g.Override.Identity != "alice@example.com" || g.Override.Reason != "hotfix INC-7" {
		t.Errorf("override output: %s", out)
	}
	// An override may not claim another pipeline identity than the key's.
	if code, _, errs := run(t, "gate", "--stage", "cd", "--pipeline", pl, "--key", org, "--identity", "sec",
		"--override-reason", "hotfix INC-7", tuned); code != 2 || !strings.Contains(errs, `--identity "sec": the signing key is not that identity's key`) {
		t.Errorf("override claiming another identity: %d %s", code, errs)
	}
	// Overriding a passing gate is refused.
	if code, _, errs := run(t, "gate", "--stage", "experimentation", "--pipeline", pl, "--key", sec, "--override-reason", "x", base); code != 2 || !strings.Contains(errs, "did not fail") {
		t.Errorf("override of a pass: %d %s", code, errs)
	}

	// Usage errors: exit 2.
	if code, _, errs := run(t, "gate", "--stage", "experimentation", base); code != 2 || !strings.Contains(errs, "must be signed") {
		t.Errorf("no key: %d %s", code, errs)
	}
	if code, _, errs := run(t, "gate", "--stage", "deploy", "--key", org, base); code != 2 || !strings.Contains(errs, `unknown stage "deploy"`) {
		t.Errorf("bad stage: %d %s", code, errs)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: mlsec.dev/policy/v1\nname: bad\nversion: '1'\nrules:\n  - id: X\n    title: x\n    expr: signature.verifed\n"), 0o644)
	if code, _, errs := run(t, "gate", "--stage", "ci", "--policy", bad, "--key", org, base); code != 2 || !strings.Contains(errs, bad+":7:20: rule X: undefined field 'verifed'") {
		t.Errorf("bad policy: %d %s", code, errs)
	}
	badPl := filepath.Join(dir, "badpl.yaml")
	os.WriteFile(badPl, []byte("apiVersion: mlsec.dev/pipeline/v1\nartifacts:\n  - {name: a, kind: model}\n  - {name: a, kind: model}\n"), 0o644)
	if code, _, errs := run(t, "gate", "--stage", "ci", "--pipeline", badPl, "--key", org, base); code != 2 || !strings.Contains(errs, badPl+":4:5: duplicate artifact name") {
		t.Errorf("bad pipeline: %d %s", code, errs)
	}
	// --dry-run evaluates without recording.
	before, _ := os.ReadFile(filepath.Join(base, "claims.jsonl"))
	if code, out, _ := run(t, "gate", "--stage", "serving", "--dry-run", "--pipeline", pl, base); code != 1 || !strings.Contains(out, "not recorded") {
		t.Errorf("dry run: %d %s", code, out)
	}
	after, _ := os.ReadFile(filepath.Join(base, "claims.jsonl"))
	if len(before) != len(after) {
		t.Error("--dry-run appended a claim")
	}

	// Assessment of the pipeline.
	code, out, errs = run(t, "assess", "--pipeline", pl, "--format", "json")
	if code != 0 {
		t.Fatalf("assess: %d %s", code, errs)
	}
	var sc struct {
		Classes []struct {
			Class string
			Level int
		}
		SLSABuildLevel int `json:"slsa_build_level"`
		Stages         []struct{ Stage, Status string }
		NextSteps      []string `json:"next_steps"`
	}
	if err := json.Unmarshal([]byte(out), &sc); err != nil {
		t.Fatal(err)
	}
	levels := map[string]int{}
	for _, c := range sc.Classes {
		levels[c.Class] = c.Level
	}
	// base is intake-verified and gated (L3) but tuned is unsigned (L0).
	if levels["model"] != 0 || len(sc.NextSteps) == 0 {
		t.Errorf("assess: %s", out)
	}
	stages := map[string]string{}
	for _, s := range sc.Stages {
		stages[s.Stage] = s.Status
	}
	if stages["experimentation"] != "green" || stages["cd"] != "red" || stages["data"] != "grey" {
		t.Errorf("stage boxes: %v", stages)
	}
	// --evidence adds artifacts found on disk that the pipeline does not name.
	extra := filepath.Join(dir, "evidence", "extra")
	writeTinyModel(t, extra, nil)
	if code, out, errs := run(t, "sign", extra, "--key", org, "--signature", filepath.Join(extra, "model.sig")); code != 0 {
		t.Fatalf("sign extra: %s%s", out, errs)
	}
	code, out, errs = run(t, "assess", "--pipeline", pl, "--evidence", filepath.Join(dir, "evidence"), "--format", "json")
	if code != 0 || !strings.Contains(out, `"name": "extra"`) {
		t.Errorf("assess --evidence: %d %s %s", code, out, errs)
	}
	if code, out, errs := run(t, "frameworks", "coverage", "--pipeline", pl, "--format", "json"); code != 0 || !strings.Contains(out, "gate:cd/CD-004") || strings.Contains(out, "gate:knowledge/") {
		t.Errorf("coverage --pipeline: %d %s", code, errs)
	}
	for _, f := range []string{"table", "html"} {
		if code, out, errs := run(t, "assess", "--pipeline", pl, "--format", f); code != 0 || !strings.Contains(out, "L3") && f == "table" {
			t.Errorf("assess %s: %d %s %s", f, code, out, errs)
		}
	}
}

func TestPolicyFrameworksRolesCommands(t *testing.T) {
	if code, out, errs := run(t, "policy", "test", "--builtin"); code != 0 || !strings.Contains(out, " 0 failed") {
		t.Fatalf("policy test --builtin: %d\n%s%s", code, out, errs)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte("apiVersion: mlsec.dev/policy/v1\nname: mine\nversion: '1'\nrules:\n  - {id: A, title: clean, expr: 'scan.max_rank < 4'}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "mine_test.yaml"), []byte("cases:\n  - {name: clean, evidence: {scan: {present: true}}, want: PASS}\n  - {name: wrong, evidence: {scan: {present: true}}, want: FAIL}\n"), 0o644)
	if code, out, _ := run(t, "policy", "test", dir); code != 1 || !strings.Contains(out, "FAIL "+filepath.Join(dir, "mine_test.yaml")+": wrong (PASS)") {
		t.Errorf("policy test with a failing case: %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte("apiVersion: mlsec.dev/policy/v1\nname: mine\nversion: '1'\nrules:\n  - {id: A, title: clean, expr: 'scan.max_rank'}\n"), 0o644)
	if code, _, errs := run(t, "policy", "test", dir); code != 2 || !strings.Contains(errs, filepath.Join(dir, "mine.yaml")+":5:33: rule A: expression returns int, want bool") {
		t.Errorf("policy test with a broken policy: %d\n%s", code, errs)
	}
	if code, _, errs := run(t, "policy", "check", filepath.Join(dir, "mine.yaml")); code != 2 || !strings.Contains(errs, "want bool") {
		t.Errorf("policy check: %d %s", code, errs)
	}
	if code, out, _ := run(t, "policy", "show", "cd"); code != 0 || !strings.Contains(out, "name: builtin/cd") {
		t.Errorf("policy show: %d", code)
	}
	if code, out, _ := run(t, "policy", "list"); code != 0 || !strings.Contains(out, "builtin:experimentation") {
		t.Errorf("policy list: %d %s", code, out)
	}

	code, out, errs := run(t, "frameworks", "coverage", "--format", "json")
	if code != 0 {
		t.Fatalf("coverage: %d %s", code, errs)
	}
	var fc []struct {
		Framework      string
		Covered, Total int
		Items          []struct {
			ID       string
			Controls []string
			Gap      bool
		}
	}
	if err := json.Unmarshal([]byte(out), &fc); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, f := range fc {
		for _, it := range f.Items {
			if !it.Gap {
				covered[f.Framework+"/"+it.ID] = true
			}
		}
	}
	for _, want := range []string{"owasp-llm-2025/LLM03", "mitre-atlas/AML.T0010.003", "nist-ssdf-1.1/PS.3.2", "cosai-aimm/INV-L3-05"} {
		if !covered[want] {
			t.Errorf("%s not covered", want)
		}
	}
	if code, out, _ := run(t, "frameworks", "coverage", "--gaps", "--framework", "owasp-ml-2023"); code != 0 || !strings.Contains(out, "ML03") || strings.Contains(out, "ML06 ") {
		t.Errorf("coverage --gaps: %d\n%s", code, out)
	}
	if code, out, _ := run(t, "frameworks", "coverage", "--format", "html"); code != 0 || !strings.Contains(out, "<table>") {
		t.Errorf("coverage html: %d", code)
	}
	if code, out, _ := run(t, "frameworks", "tools"); code != 0 || !strings.Contains(out, "OPEN") || !strings.Contains(out, "OpenSSF Scorecard") {
		t.Errorf("tools: %d\n%s", code, out)
	}
	if code, out, _ := run(t, "frameworks", "tools", "--format", "html"); code != 0 || !strings.Contains(out, "<table>") {
		t.Errorf("tools html: %d", code)
	}
	code, out, _ = run(t, "roles", "--format", "json")
	var ro struct {
		Gates map[string]map[string]string
	}
	if code != 0 || json.Unmarshal([]byte(out), &ro) != nil || ro.Gates["cd"]["model-owner"] != "A" {
		t.Errorf("roles: %d %s", code, out)
	}
}

// TestIntakeUpstreamSignature: a publisher's signature is checked against
// --upstream-key; without one, or with the wrong one, intake fails with a
// reason that says so; with the right one the model is re-signed.
func TestIntakeUpstreamSignature(t *testing.T) {
	dir := t.TempDir()
	writeKeyPair(t, dir, "org")
	writeKeyPair(t, dir, "publisher")
	writeKeyPair(t, dir, "other")
	m := filepath.Join(dir, "m")
	writeTinyModel(t, m, nil)
	if code, out, errs := run(t, "sign", m, "--key", filepath.Join(dir, "publisher.pem"), "--signature", filepath.Join(m, "model.sig")); code != 0 {
		t.Fatalf("sign: %d %s %s", code, out, errs)
	}
	org := filepath.Join(dir, "org.pem")
	src := "https://huggingface.co/acme/m"

	code, out, _ := run(t, "intake", m, "--source", src, "--key", org)
	if code != 1 || !strings.Contains(out, "FAIL INTAKE-003   upstream signature does not verify: the artifact carries a signature, but no --upstream-key was given") ||
		!strings.Contains(out, "upstream signature: not checked (no --upstream-key)") {
		t.Errorf("intake without --upstream-key: %d\n%s", code, out)
	}
	code, out, _ = run(t, "intake", m, "--source", src, "--key", org, "--upstream-key", filepath.Join(dir, "other.pub"))
	if code != 1 || !strings.Contains(out, "not signed by a trusted identity (tried upstream:other.pub, self)") || !strings.Contains(out, "upstream signature: invalid") {
		t.Errorf("intake with the wrong --upstream-key: %d\n%s", code, out)
	}
	code, out, errs := run(t, "intake", m, "--source", src, "--key", org, "--upstream-key", filepath.Join(dir, "publisher.pub"))
	if code != 0 || !strings.Contains(out, "upstream signature: verified") || !strings.Contains(out, "trust: quarantined → verified") {
		t.Fatalf("intake with the publisher's key: %d\n%s%s", code, out, errs)
	}
	// The model now carries the organisation's signature, not the publisher's.
	if code, out, _ := run(t, "verify", m, "--key", filepath.Join(dir, "org.pub"), "--signature", filepath.Join(m, "model.sig")); code != 0 {
		t.Errorf("verify with the organisation's key after intake: %d %s", code, out)
	}
}
