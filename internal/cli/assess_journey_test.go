package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAssessJourneyEvidence assesses the evidence a default-flags journey
// leaves (examples/journey.sh) with a pipeline file from mlsec pipeline
// init that declares no artifact: the artifacts come from --evidence, so
// their kinds and stages come from their claims. A dataset with signed
// preparation provenance is a dataset at L2+ (no "record provenance" step),
// a RAG corpus is no model, the gate decisions colour the stage boxes, and
// a failed decision keeps an artifact below L3.
func TestAssessJourneyEvidence(t *testing.T) {
	work := t.TempDir()
	keys := filepath.Join(work, "keys")
	os.Mkdir(keys, 0o755)
	writeKeyPair(t, keys, "org")
	t.Chdir(work)
	org := "keys/org.pem"
	write := func(p, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("reviews/train.jsonl", `{"text":"good product","label":1}`+"\n")
	mustRunT(t, 0, "sign", "reviews", "--key", org)
	mustRunT(t, 0, "attest", "provenance", "--model", "reviews", "--run-type", "preparation", "--builder-id", "https://etl.example/jobs/reviews",
		"--code", "git+https://git.example/etl@1111111111111111111111111111111111111111", "--key", org)
	mustRunT(t, 0, "gate", "--stage", "data", "--key", org, "reviews")

	write("corpus/returns.md", "# Returns\nWithin 30 days.\n")
	mustRunT(t, 0, "sign", "corpus", "--key", org)
	mustRunT(t, 0, "gate", "--stage", "knowledge", "--key", org, "corpus")

	// A model that passes ci, then fails serving.
	write("sentiment/weights.bin", "weights")
	mustRunT(t, 0, "sign", "sentiment", "--key", org)
	mustRunT(t, 0, "attest", "provenance", "--model", "sentiment", "--dataset", "reviews", "--builder-id", "https://ci.example/gpu",
		"--code", "git+https://git.example/train@2222222222222222222222222222222222222222", "--run-type", "training", "--key", org)
	mustRunT(t, 0, "gate", "--stage", "ci", "--key", org, "sentiment")
	mustRunT(t, 1, "gate", "--stage", "serving", "--key", org, "sentiment") // never released (no cd)

	mustRunT(t, 0, "pipeline", "init", "--identity", "org=keys/org.pub")
	code, out, errs := run(t, "assess", "--pipeline", "pipeline.yaml", "--evidence", ".", "--format", "json")
	if code != 0 {
		t.Fatalf("assess: exit %d\n%s%s", code, out, errs)
	}
	var got struct {
		Classes []struct {
			Class     string `json:"class"`
			Artifacts []struct {
				Name  string `json:"name"`
				Kind  string `json:"kind"`
				Level int    `json:"level"`
			} `json:"artifacts"`
		} `json:"classes"`
		Stages []struct {
			Stage     string `json:"stage"`
			Status    string `json:"status"`
			Artifacts int    `json:"artifacts"`
			Passed    int    `json:"passed"`
		} `json:"stages"`
		NextSteps []string `json:"next_steps"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	type art struct {
		class, kind string
		level       int
	}
	arts := map[string]art{}
	for _, c := range got.Classes {
		for _, a := range c.Artifacts {
			arts[a.Name] = art{c.Class, a.Kind, a.Level}
		}
	}
	for name, want := range map[string]art{
		"reviews":   {"dataset", "dataset", 3},
		"corpus":    {"llm-asset", "rag-corpus", 1},
		"sentiment": {"model", "model", 2},
	} {
		if arts[name] != want {
			t.Errorf("%s: %+v, want %+v", name, arts[name], want)
		}
	}
	boxes := map[string]string{}
	for _, b := range got.Stages {
		boxes[b.Stage] = b.Status + " " + string(rune('0'+b.Passed)) + "/" + string(rune('0'+b.Artifacts))
	}
	for st, want := range map[string]string{"data": "green 1/1", "knowledge": "green 1/1", "ci": "green 1/1", "serving": "red 0/1", "planning": "grey 0/0"} {
		if boxes[st] != want {
			t.Errorf("stage %s: %q, want %q", st, boxes[st], want)
		}
	}
	steps := strings.Join(got.NextSteps, "\n")
	for _, bad := range []string{"reviews: record signed provenance", "reviews: record its origin", "SLSA Build L1"} {
		if strings.Contains(steps, bad) {
			t.Errorf("next steps contain %q:\n%s", bad, steps)
		}
	}
	if !strings.Contains(steps, "sentiment: pass the serving gate") {
		t.Errorf("next steps lack the failed serving gate of sentiment:\n%s", steps)
	}
}
