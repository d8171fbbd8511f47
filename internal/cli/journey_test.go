package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLifecycleJourney walks one model through every stage with default
// flags only (issue 12 §5, the CLI half; examples/journey.sh and
// docs/lifecycle.md walk the same journey): no command is told where a
// signature, claims file or evidence directory is. It asserts every
// decision and every trust state.
func TestLifecycleJourney(t *testing.T) {
	weights, err := os.ReadFile("../../format/safetensors/testdata/valid-small.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	keys := filepath.Join(work, "keys")
	os.Mkdir(keys, 0o755)
	writeKeyPair(t, keys, "org")
	writeKeyPair(t, keys, "publisher")
	t.Chdir(work)
	org, orgPub := "keys/org.pem", "keys/org.pub"
	write := func(p, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type decision struct {
		Result      string `json:"result"`
		TrustBefore string `json:"trust_before"`
		TrustAfter  string `json:"trust_after"`
		Subject     string `json:"subject"`
		VSA         string `json:"vsa"`
		Upstream    string `json:"upstream_signature"`
		Rules       []struct {
			RuleID string `json:"rule_id"`
			Result string `json:"result"`
		} `json:"rules"`
	}
	// gate runs a gate (or intake) and checks its decision, its trust
	// transition and where the VSA went.
	gate := func(code int, result, before, after string, args ...string) decision {
		t.Helper()
		out := mustRunT(t, code, append(args, "--format", "json")...)
		var d decision
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &d); err != nil {
			t.Fatalf("mlsec %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if d.Result != result || d.TrustBefore != before || d.TrustAfter != after {
			t.Errorf("mlsec %s: %s %s → %s, want %s %s → %s\n%s", strings.Join(args, " "), d.Result, d.TrustBefore, d.TrustAfter, result, before, after, out)
		}
		path := args[len(args)-1]
		if args[0] == "intake" {
			path = args[1]
		}
		if want := filepath.Join(path, "claims.jsonl"); d.VSA != want {
			t.Errorf("mlsec %s: VSA in %q, want %q", strings.Join(args, " "), d.VSA, want)
		}
		return d
	}
	signedTo := func(path string) {
		t.Helper()
		out := mustRunT(t, 0, "sign", path, "--key", org)
		if !strings.HasSuffix(strings.TrimSpace(out), "-> "+filepath.Join(path, "model.sig")) {
			t.Errorf("sign %s: %s", path, out)
		}
	}

	// data: a dataset prepared in house.
	write("reviews/train.jsonl", `{"text":"good product","label":1}`+"\n")
	signedTo("reviews")
	mustRunT(t, 0, "verify", "reviews", "--key", orgPub)
	mustRunT(t, 0, "attest", "provenance", "--model", "reviews", "--run-type", "preparation", "--builder-id", "https://etl.example/jobs/reviews",
		"--code", "git+https://git.example/etl@1111111111111111111111111111111111111111", "--key", org)
	gate(0, "PASS", "quarantined", "verified", "gate", "--stage", "data", "--key", org, "reviews")

	// experimentation: an external base model signed by its publisher.
	write("tiny-bert/model.safetensors", string(weights))
	write("tiny-bert/config.json", `{"model_type":"bert"}`)
	mustRunT(t, 0, "sign", "tiny-bert", "--key", "keys/publisher.pem")
	in := gate(0, "WARN", "quarantined", "verified", "intake", "tiny-bert", "--source", "https://huggingface.co/tiny-org/tiny-bert",
		"--upstream-key", "keys/publisher.pub", "--key", org)
	if in.Upstream != "verified" {
		t.Errorf("intake: upstream signature %q, want verified", in.Upstream)
	}
	gate(0, "PASS", "verified", "verified", "gate", "--stage", "experimentation", "--key", org, "tiny-bert")

	// training: a fine-tune with provenance, evaluation and AI-BOM.
	write("sentiment/model.safetensors", string(weights))
	write("sentiment/config.json", `{"model_type":"bert"}`)
	write("sentiment/training_args.json", `{"epochs": 3}`)
	write("metrics.json", `{"accuracy": 0.93}`)
	signedTo("sentiment")
	mustRunT(t, 0, "attest", "provenance", "--model", "sentiment", "--dataset", "reviews", "--base-model", "tiny-bert",
		"--code", "git+https://git.example/train@2222222222222222222222222222222222222222", "--builder-id", "https://ci.example/gpu",
		"--run-type", "fine-tuning", "--key", org)
	mustRunT(t, 0, "attest", "eval", "--metrics", "metrics.json", "--threshold", "accuracy>=0.9", "--key", org, "sentiment")
	mustRunT(t, 0, "attest", "bom", "--key", org, "sentiment")
	var chain struct {
		OK    bool `json:"ok"`
		Links []struct {
			Path   string `json:"path"`
			Status string `json:"status"`
		} `json:"links"`
	}
	json.Unmarshal([]byte(mustRunT(t, 0, "verify-chain", "--key", orgPub, "--format", "json", "sentiment")), &chain)
	if !chain.OK || len(chain.Links) != 3 {
		t.Errorf("verify-chain: %+v", chain)
	}

	// ci → cd → serving.
	gate(0, "PASS", "quarantined", "verified", "gate", "--stage", "ci", "--key", org, "sentiment")
	rel := gate(0, "PASS", "verified", "released", "gate", "--stage", "cd", "--key", org, "sentiment")
	gate(0, "PASS", "released", "released", "gate", "--stage", "serving", "--key", org, "sentiment")

	// The weights are tampered with: serving refuses them (a new digest,
	// never gated), monitoring revokes the release.
	tampered := append([]byte{}, weights...)
	tampered[len(tampered)-1] ^= 1
	write("sentiment/model.safetensors", string(tampered))
	d := gate(1, "FAIL", "quarantined", "quarantined", "gate", "--stage", "serving", "--key", org, "sentiment")
	if d.Subject == rel.Subject {
		t.Error("serving judged the tampered files as the released digest")
	}
	d = gate(1, "FAIL", "released", "revoked", "gate", "--stage", "monitoring", "--key", org, "sentiment")
	if d.Subject != rel.Subject {
		t.Errorf("monitoring revoked %s, want the release %s", d.Subject, rel.Subject)
	}
	mustRunT(t, 1, "verify", "sentiment", "--key", orgPub)
	// Revocation is final: with the released files back, serving refuses.
	write("sentiment/model.safetensors", string(weights))
	gate(1, "FAIL", "revoked", "revoked", "gate", "--stage", "serving", "--key", org, "sentiment")
	var impact struct {
		Impacted []struct {
			Digest string   `json:"digest"`
			Paths  []string `json:"paths"`
		} `json:"impacted"`
	}
	json.Unmarshal([]byte(mustRunT(t, 0, "lineage", "impact", "--format", "json", "reviews")), &impact)
	if len(impact.Impacted) != 1 || impact.Impacted[0].Digest != rel.Subject {
		t.Errorf("impact of the dataset: %+v, want the release %s", impact.Impacted, rel.Subject)
	}

	// knowledge: a RAG corpus.
	write("corpus/returns.md", "# Returns\nWithin 30 days.\n")
	signedTo("corpus")
	gate(0, "PASS", "quarantined", "verified", "gate", "--stage", "knowledge", "--key", org, "corpus")

	// Nothing was written outside the artifacts' own evidence files.
	if _, err := os.Stat("model.sig"); err == nil {
		t.Error("a command wrote ./model.sig")
	}
}
