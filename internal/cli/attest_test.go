package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/attest/attesttest"
	"github.com/mlsecops/mlsec/signing/sigstoretest"
)

// TestAttestLineageVerifyChain drives the evidence commands end to end:
// sign a dataset and three generations of models with mlsec sign, record
// provenance, scan, eval and BOM claims, then list, verify, print the
// lineage, ask for the impact of the dataset and verify the chain, before
// and after the dataset is tampered with.
func TestAttestLineageVerifyChain(t *testing.T) {
	tmp := t.TempDir()
	k, other := attesttest.NewKey(t), attesttest.NewKey(t)
	priv, pub := k.WriteFiles(t, tmp)
	otherDir := filepath.Join(tmp, "other")
	os.Mkdir(otherDir, 0o755)
	_, otherPub := other.WriteFiles(t, otherDir)
	ev := filepath.Join(tmp, "evidence")
	corpus := attesttest.Artifact(t, filepath.Join(ev, "datasets", "corpus"), map[string]string{"train.jsonl": "{}\n"})
	base := attesttest.Artifact(t, filepath.Join(ev, "models", "base"), map[string]string{"weights.bin": "base"})
	ft := attesttest.Artifact(t, filepath.Join(ev, "models", "finetune"), map[string]string{"weights.bin": "ft"})
	q := attesttest.Artifact(t, filepath.Join(ev, "models", "q4"), map[string]string{"model.gguf": "q"})
	digests := map[string]string{}
	for _, dir := range []string{corpus, base, ft, q} {
		code, out, errs := run(t, "sign", dir, "--key", priv, "--signature", filepath.Join(dir, "model.sig"), "--format", "json")
		if code != 0 {
			t.Fatalf("sign %s: %d %s%s", dir, code, out, errs)
		}
		var res struct {
			RootDigest string `json:"root_digest"`
		}
		json.Unmarshal([]byte(out), &res)
		digests[dir] = res.RootDigest
	}
	cfg := filepath.Join(tmp, "train.yaml")
	attesttest.WriteFile(t, cfg, "epochs: 3\nlr: 0.0002\noptimizer: adamw\n")
	mustRun := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := run(t, args...)
		if code != want {
			t.Fatalf("mlsec %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	commit := "0123456789abcdef0123456789abcdef01234567"
	out := mustRun(0, "attest", "provenance", "--model", base, "--dataset", corpus, "--code", "git+https://git.example/train@"+commit,
		"--config", cfg, "--builder-id", "https://ci.example/gpu", "--key", priv)
	if !strings.Contains(out, "recorded https://slsa.dev/provenance/v1 about "+base+" ("+digests[base]+")") {
		t.Errorf("provenance output: %s", out)
	}
	mustRun(0, "attest", "provenance", "--model", ft, "--base-model", base, "--dataset", corpus, "--run-type", "fine-tuning",
		"--builder-id", "https://ci.example/gpu", "--started-on", "2026-11-01T10:00:00Z", "--key", priv)
	// A base model given by digest only.
	mustRun(0, "attest", "provenance", "--model", q, "--base-model", digests[ft], "--run-type", "quantization",
		"--builder-id", "https://ci.example/cpu", "--key", priv)
	mustRun(0, "attest", "scan", q, "--key", priv)
	metrics := filepath.Join(tmp, "metrics.json")
	attesttest.WriteFile(t, metrics, `{"accuracy": 0.91, "perplexity": 7.5}`)
	out = mustRun(0, "attest", "eval", q, "--metrics", metrics, "--threshold", "accuracy>=0.9", "--warn-threshold", "perplexity<7", "--key", priv)
	if !strings.Contains(out, "WARNED (1 passed, 1 warned, 0 failed)") {
		t.Errorf("eval output: %s", out)
	}
	bom := filepath.Join(tmp, "bom.json")
	attesttest.WriteFile(t, bom, `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`)
	mustRun(0, "attest", "bom", q, "--bom", bom, "--key", priv)
	out = mustRun(0, "attest", "bom", q, "--key", priv, "--spec", "1.7") // built in process
	// The built BOM names the model by the digest its signature records.
	out = mustRun(0, "attest", "list", q, "--format", "json")
	if !strings.Contains(out, `"summary"`) {
		t.Errorf("attest list JSON: %s", out)
	}
	claims, _ := os.ReadFile(filepath.Join(q, "claims.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(claims)), "\n")
	var b struct {
		DSSE struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &b); err != nil || !bytes.Contains(b.DSSE.Payload, []byte(`"value":"`+digests[q]+`"`)) {
		t.Errorf("built BOM does not record the root digest %s: %v\n%s", digests[q], err, b.DSSE.Payload)
	}
	// A BOM that does not validate is not signed.
	badBOM := filepath.Join(tmp, "bad-bom.json")
	attesttest.WriteFile(t, badBOM, `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"model","name":"x"}]}`)
	out = mustRun(2, "attest", "bom", q, "--bom", badBOM, "--key", priv)
	if !strings.Contains(out, "is not valid CycloneDX 1.6") || !strings.Contains(out, "/components/0/type: got 'model'") {
		t.Errorf("attest bom of an invalid BOM: %s", out)
	}

	// The claims file is not part of the model's signature.
	mustRun(0, "verify", q, "--key", pub, "--signature", filepath.Join(q, "model.sig"))

	out = mustRun(0, "attest", "list", q)
	for _, want := range []string{":1  https://slsa.dev/provenance/v1", "quantization by https://ci.example/cpu, 1 parents",
		":2  https://mlsec.dev/attestation/scan/v1", ":3  https://in-toto.io/attestation/test-result/v0.1", ":4  https://cyclonedx.org/bom", ":5  https://cyclonedx.org/bom"} {
		if !strings.Contains(out, want) {
			t.Errorf("attest list lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(0, "attest", "verify", q, "--key", pub)
	if !strings.Contains(out, "OK "+q+": 5 claims verified") {
		t.Errorf("attest verify: %s", out)
	}
	out = mustRun(1, "attest", "verify", q, "--key", otherPub)
	if !strings.Contains(out, "FAIL "+q+": 5 of 5 claims did not verify") || !strings.Contains(out, "key mismatch") {
		t.Errorf("attest verify with the wrong key: %s", out)
	}
	// Two trusted keys: either may have signed.
	mustRun(0, "attest", "verify", q, "--key", otherPub, "--key", pub)
	out = mustRun(1, "attest", "verify", corpus, "--key", pub)
	if !strings.Contains(out, "no claims") {
		t.Errorf("attest verify without claims: %s", out)
	}

	out = mustRun(0, "lineage", q, "--evidence", ev)
	for _, want := range []string{"q4 " + digests[q], "└── finetune [base-model] " + digests[ft] + " " + ft + " — fine-tuning by https://ci.example/gpu",
		"base [base-model]", "; code git+https://git.example/train@" + commit, "corpus [dataset] " + digests[corpus] + " " + corpus + " — provenance unknown"} {
		if !strings.Contains(out, want) {
			t.Errorf("lineage lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(0, "lineage", q, "--evidence", ev, "--depth", "1")
	if strings.Contains(out, "corpus") || !strings.Contains(out, "more ancestors") {
		t.Errorf("lineage --depth 1:\n%s", out)
	}
	out = mustRun(0, "lineage", q, "--format", "json") // evidence defaults to q's directory: parents are siblings
	var tree struct {
		Parents []struct {
			Name    string `json:"name"`
			Parents []struct{ Name string }
		} `json:"parents"`
	}
	if err := json.Unmarshal([]byte(out), &tree); err != nil || len(tree.Parents) != 1 || tree.Parents[0].Name != "finetune" || len(tree.Parents[0].Parents) != 2 {
		t.Errorf("lineage JSON: %v\n%s", err, out)
	}

	out = mustRun(0, "lineage", "impact", digests[corpus], "--evidence", ev)
	for _, want := range []string{"3 artifacts derived from " + digests[corpus], base + "  " + digests[base] + "  depth 1, via " + digests[corpus][:19] + " as dataset (training)",
		ft + "  " + digests[ft] + "  depth 1, via " + digests[corpus][:19] + " as dataset (fine-tuning)", q + "  " + digests[q] + "  depth 2, via " + digests[ft][:19] + " as base-model (quantization)"} {
		if !strings.Contains(out, want) {
			t.Errorf("impact lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(0, "lineage", "impact", base, "--evidence", ev, "--format", "json")
	var imp struct {
		Impacted []struct {
			Paths []string `json:"paths"`
		} `json:"impacted"`
	}
	if err := json.Unmarshal([]byte(out), &imp); err != nil || len(imp.Impacted) != 2 || imp.Impacted[0].Paths[0] != ft {
		t.Errorf("impact JSON: %v\n%s", err, out)
	}

	out = mustRun(0, "verify-chain", q, "--key", pub, "--evidence", ev)
	if !strings.Contains(out, "OK "+q+": chain verified, 5 links, 4 artifacts hashed; provenance unknown for "+corpus) {
		t.Errorf("verify-chain:\n%s", out)
	}
	out = mustRun(0, "verify-chain", q, "--key", pub, "--evidence", ev, "--format", "json")
	var rep struct {
		OK    bool `json:"ok"`
		Links []struct {
			Status string `json:"status"`
		} `json:"links"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || len(rep.Links) != 5 {
		t.Errorf("verify-chain JSON: %v\n%s", err, out)
	}
	attesttest.WriteFile(t, filepath.Join(corpus, "train.jsonl"), "poisoned\n")
	out = mustRun(1, "verify-chain", q, "--key", pub, "--evidence", ev)
	if !strings.Contains(out, "FAIL "+q+": first broken link at "+corpus+": "+corpus+" does not match its signature") || !strings.Contains(out, "changed: train.jsonl") {
		t.Errorf("verify-chain after tampering:\n%s", out)
	}
	// The poisoned dataset's path no longer hashes to the digest its
	// children recorded: impact follows the signed digest too, and says so.
	out = mustRun(0, "lineage", "impact", corpus, "--evidence", ev)
	if !strings.Contains(out, "3 artifacts derived from ") || !strings.Contains(out, " or "+digests[corpus]) ||
		!strings.Contains(out, "the files changed since signing") {
		t.Errorf("impact of the tampered dataset:\n%s", out)
	}
	// A model without provenance is not a verified chain.
	out = mustRun(1, "verify-chain", corpus, "--key", pub, "--evidence", ev)
	if !strings.Contains(out, "BROKEN") {
		t.Errorf("verify-chain of a tampered dataset:\n%s", out)
	}
}

func TestEvidenceUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	model := attesttest.Artifact(t, filepath.Join(tmp, "m"), map[string]string{"w": "x"})
	k := attesttest.NewKey(t)
	priv, pub := k.WriteFiles(t, tmp)
	for _, args := range [][]string{
		{"attest", "provenance", "--builder-id", "b", "--key", priv},
		{"attest", "provenance", "--model", model, "--key", priv},
		{"attest", "provenance", "--model", model, "--builder-id", "b"},
		{"attest", "provenance", "--model", model, "--builder-id", "b", "--key", priv, "--code", "https://x@main"},
		{"attest", "provenance", "--model", model, "--builder-id", "b", "--key", priv, "--dataset", filepath.Join(tmp, "nope")},
		{"attest", "provenance", "--model", model, "--builder-id", "b", "--key", priv, "--started-on", "yesterday"},
		{"attest", "provenance", "--model", model, "--builder-id", "b", "--sigstore"},
		{"attest", "eval", model, "--key", priv},
		{"attest", "eval", model, "--key", priv, "--metrics", pub, "--threshold", "acc"},
		{"attest", "bom", model, "--key", priv, "--spec", "9.9"},
		{"attest", "bom", model, "--key", priv, "--bom", pub},
		{"attest", "verify", model},
		{"attest", "list", filepath.Join(tmp, "nope")},
		{"lineage", "impact", "sha256:00"},
		{"lineage", "impact", "sha256:12", "--evidence", tmp},
		{"verify-chain", model, "--evidence", tmp},
		{"verify-chain", model, "--identity", "me@example.com"},
	} {
		if code, out, errs := run(t, args...); code != 2 {
			t.Errorf("mlsec %s: exit %d, want 2\n%s%s", strings.Join(args, " "), code, out, errs)
		}
	}
	// An unsigned model: verify-chain reports it, exit 1.
	code, out, _ := run(t, "verify-chain", model, "--key", pub)
	if code != 1 || !strings.Contains(out, "has no signature") {
		t.Errorf("unsigned model: exit %d\n%s", code, out)
	}
}

// TestAttestVerifyKeyless verifies keyless claims offline: the reference's
// public-good keyless signature of its test model, recorded as a claim
// beside a copy of that model.
func TestAttestVerifyKeyless(t *testing.T) {
	src := filepath.Join(vectors, "v1.0.0-sigstore")
	sig, err := os.ReadFile(filepath.Join(src, "model.sig"))
	if err != nil {
		t.Skipf("vectors not present: %v", err)
	}
	model := filepath.Join(t.TempDir(), "model")
	for _, f := range []string{"signme-1", "signme-2", "model.sig"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		attesttest.WriteFile(t, filepath.Join(model, f), string(b))
	}
	var line bytes.Buffer
	json.Compact(&line, sig)
	attesttest.WriteFile(t, filepath.Join(model, "claims.jsonl"), line.String()+"\n")
	root := "../../signing/testdata/interop/sigstore/trusted-root-public-good.json"
	trust := []string{"--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2", "--trusted-root", root}
	code, out, errs := run(t, append([]string{"attest", "verify", model}, trust...)...)
	if code != 0 || !strings.Contains(out, "OK   "+filepath.Join(model, "claims.jsonl")+":1  https://model_signing/signature/v1.0") {
		t.Errorf("attest verify keyless: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(t, "attest", "verify", model, "--identity", "mallory@example.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2", "--trusted-root", root)
	if code != 1 || !strings.Contains(out, "mallory@example.com") {
		t.Errorf("attest verify keyless, wrong identity: exit %d\n%s", code, out)
	}
	// The signature verifies, but nothing says where the model came from.
	code, out, _ = run(t, append([]string{"verify-chain", model}, trust...)...)
	if code != 1 || !strings.Contains(out, "signature valid; provenance unknown") || !strings.Contains(out, "provenance is unknown") {
		t.Errorf("verify-chain keyless without provenance: exit %d\n%s", code, out)
	}
}

// TestProvenanceInputsByDigest: datasets and base models may be given by
// root digest; a malformed digest or a missing path is named precisely.
func TestProvenanceInputsByDigest(t *testing.T) {
	tmp := t.TempDir()
	k := attesttest.NewKey(t)
	priv, _ := k.WriteFiles(t, tmp)
	model := attesttest.Artifact(t, filepath.Join(tmp, "m"), map[string]string{"w": "x"})
	ds := "sha256:" + strings.Repeat("ab", 32)
	code, out, errs := run(t, "attest", "provenance", "--model", model, "--dataset", ds, "--base-model", "sha256:"+strings.Repeat("cd", 32),
		"--builder-id", "https://ci.example/b", "--key", priv)
	if code != 0 || !strings.Contains(out, "from 2 inputs") {
		t.Fatalf("by digest: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(t, "lineage", "impact", ds, "--evidence", tmp)
	if code != 0 || !strings.Contains(out, "1 artifacts derived from "+ds) {
		t.Errorf("impact of a dataset given by digest: exit %d\n%s", code, out)
	}
	for _, tc := range []struct{ flag, arg, want string }{
		{"--dataset", "sha256:abc", `--dataset: "sha256:abc" is neither a path nor a sha256 digest`},
		{"--base-model", "sha256:abc", `--base-model: "sha256:abc" is neither a path nor a sha256 digest`},
		{"--dataset", filepath.Join(tmp, "nope"), "--dataset: " + filepath.Join(tmp, "nope") + " does not exist"},
	} {
		code, _, errs := run(t, "attest", "provenance", "--model", model, tc.flag, tc.arg, "--builder-id", "https://ci.example/b", "--key", priv)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s %s: exit %d, stderr %q, want %q", tc.flag, tc.arg, code, errs, tc.want)
		}
	}
}

// TestVerifyChainKeylessCLI signs a dataset and a model keyless (virtual
// Fulcio and Rekor), records the model's provenance keyless and verifies
// the chain for the signer's identity; another identity breaks it at the
// model.
func TestVerifyChainKeylessCLI(t *testing.T) {
	const identity, issuer = "trainer@acme.example", "https://issuer.acme.example"
	ss := sigstoretest.New(t)
	tmp := t.TempDir()
	trusted := filepath.Join(tmp, "trusted-root.json")
	attesttest.WriteFile(t, trusted, string(ss.TrustedRootJSON(t)))
	t.Setenv("SIGSTORE_ID_TOKEN", sigstoretest.Token(map[string]any{"email": identity, "email_verified": true, "iss": issuer}))
	services := []string{"--sigstore", "--fulcio-url", ss.URL, "--rekor-url", ss.URL, "--trusted-root", trusted}
	ev := filepath.Join(tmp, "evidence")
	ds := attesttest.Artifact(t, filepath.Join(ev, "corpus"), map[string]string{"train.jsonl": "{}\n"})
	model := attesttest.Artifact(t, filepath.Join(ev, "model"), map[string]string{"weights.bin": "w"})
	for _, dir := range []string{ds, model} {
		if code, out, errs := run(t, append([]string{"sign", dir, "--signature", filepath.Join(dir, "model.sig")}, services...)...); code != 0 {
			t.Fatalf("sign %s: %d %s%s", dir, code, out, errs)
		}
	}
	if code, out, errs := run(t, append([]string{"attest", "provenance", "--model", model, "--dataset", ds, "--builder-id", "https://ci.example/gpu"}, services...)...); code != 0 {
		t.Fatalf("attest provenance: %d %s%s", code, out, errs)
	}
	trust := func(id string) []string {
		return []string{"--identity", id, "--issuer", issuer, "--trusted-root", trusted, "--no-sct", "--evidence", ev}
	}
	code, out, errs := run(t, append([]string{"verify-chain", model}, trust(identity)...)...)
	if code != 0 || !strings.Contains(out, "OK "+model+": chain verified, 2 links, 2 artifacts hashed") {
		t.Errorf("verify-chain keyless: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(t, append([]string{"verify-chain", model}, trust("mallory@acme.example")...)...)
	if code != 1 || !strings.Contains(out, "FAIL "+model+": first broken link at "+model) || !strings.Contains(out, "mallory@acme.example") {
		t.Errorf("verify-chain keyless, wrong identity: exit %d\n%s", code, out)
	}
}
