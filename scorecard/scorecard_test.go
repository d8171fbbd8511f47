package scorecard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest/attesttest"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/scorecard"
)

// fixture reads a committed fixture of the repository (real outputs of
// the real libraries, see each testdata README).
func fixture(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const pin = "0123456789abcdef0123456789abcdef01234567"

// card is a model card with every field the checks look at.
func card(license, base string, datasets bool) string {
	var b strings.Builder
	b.WriteString("---\n")
	if license != "" {
		b.WriteString("license: " + license + "\n")
	}
	b.WriteString("pipeline_tag: text-generation\nlibrary_name: transformers\n")
	if base != "" {
		b.WriteString("base_model: " + base + "\n")
	}
	if datasets {
		b.WriteString("datasets:\n  - acme/instructions\n")
	}
	b.WriteString("---\n# tiny\n\nA tiny model.\n")
	return b.String()
}

func score(t *testing.T, dir string) *scorecard.Result {
	t.Helper()
	cfg := scan.DefaultConfig()
	dets, err := list.All(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := scorecard.Gather(context.Background(), dir, scan.NewRunner(dets, cfg, scan.Options{}), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return scorecard.Run(f, "test", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
}

func TestChecks(t *testing.T) {
	safetensors := fixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors")
	disguisedPickle := fixture(t, "testdata/models/model.safetensors") // a pickle named .safetensors
	torchZip := fixture(t, "testdata/models/torch_state_dict_f32.pt")
	cleanTemplate := fixture(t, "scan/detector/template/testdata/clean-string.json")
	badTemplate := fixture(t, "scan/detector/template/testdata/malicious-string.json")
	config := `{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}`
	autoMap := `{"model_type": "tiny", "auto_map": {"AutoModel": "modeling_tiny.TinyModel"}}`

	tests := []struct {
		name  string
		files map[string]string
		sign  bool // sign with a real key (attesttest), and record provenance
		want  map[string]int
	}{
		{
			name: "good",
			files: map[string]string{
				"model.safetensors": safetensors, "config.json": config, "tokenizer_config.json": cleanTemplate,
				"README.md": card("apache-2.0", "acme/base@"+pin, true),
			},
			sign: true,
			want: map[string]int{"Signed-Weights": 10, "No-Pickle": 10, "Safetensors-Only": 10, "Remote-Code": 10,
				"Chat-Template": 10, "License": 10, "Pinned-Base-Model": 10, "Dataset-Provenance": 10},
		},
		{
			name: "pickle by content, not by name",
			files: map[string]string{
				"model.safetensors": disguisedPickle, "README.md": card("mit", "", false),
			},
			want: map[string]int{"Signed-Weights": 0, "No-Pickle": 0, "Safetensors-Only": 0, "Chat-Template": scorecard.Inconclusive,
				"Pinned-Base-Model": scorecard.Inconclusive, "Dataset-Provenance": 0, "License": 10},
		},
		{
			name: "half safetensors",
			files: map[string]string{
				"model.safetensors": safetensors, "pytorch_model.bin": torchZip, "README.md": card("apache-2.0", "acme/base", true),
			},
			want: map[string]int{"No-Pickle": 0, "Safetensors-Only": 5, "Pinned-Base-Model": 0, "Dataset-Provenance": 4},
		},
		{
			name: "remote code and unsafe template",
			files: map[string]string{
				"model.safetensors": safetensors, "config.json": autoMap, "tokenizer_config.json": badTemplate,
				"README.md": card("my-own-licence", "", false),
			},
			want: map[string]int{"Remote-Code": 0, "Chat-Template": 0, "License": 3, "No-Pickle": 10},
		},
		{
			name:  "no card",
			files: map[string]string{"model.safetensors": safetensors},
			want:  map[string]int{"License": 0, "Pinned-Base-Model": scorecard.Inconclusive, "Safetensors-Only": 10},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := attesttest.Artifact(t, filepath.Join(t.TempDir(), "repo"), tc.files)
			if tc.sign {
				k := attesttest.NewKey(t)
				d := attesttest.Sign(t, dir, k.Signer())
				attesttest.Provenance(t, dir, d, k.Signer(), "fine-tune")
			}
			res := score(t, dir)
			got := map[string]scorecard.Check{}
			for _, c := range res.Checks {
				got[c.Name] = c
				if c.Score < scorecard.Inconclusive || c.Score > 10 {
					t.Errorf("%s: score %d out of range", c.Name, c.Score)
				}
				if c.Documentation.Remediation == "" || c.Reason == "" {
					t.Errorf("%s: no remediation or reason", c.Name)
				}
			}
			for name, want := range tc.want {
				c, ok := got[name]
				if !ok {
					t.Fatalf("no check %s", name)
				}
				if c.Score != want {
					t.Errorf("%s = %d (%s, %v), want %d", name, c.Score, c.Reason, c.Details, want)
				}
			}
		})
	}
}

// TestRepositoryTestdata scores the repository's own model fixtures: a
// directory of pickles, joblib and torch files must fail the pickle checks.
func TestRepositoryTestdata(t *testing.T) {
	res := score(t, filepath.Join("..", "testdata", "models"))
	for _, c := range res.Checks {
		switch c.Name {
		case "No-Pickle", "Signed-Weights":
			if c.Score != 0 {
				t.Errorf("%s = %d, want 0 (%s)", c.Name, c.Score, c.Reason)
			}
		case "Safetensors-Only":
			if c.Score >= 5 {
				t.Errorf("%s = %d, want < 5 (%s)", c.Name, c.Score, c.Reason)
			}
		}
	}
	if res.Score >= 5 {
		t.Errorf("aggregate %.1f, want < 5", res.Score)
	}
}

func TestOutput(t *testing.T) {
	dir := attesttest.Artifact(t, filepath.Join(t.TempDir(), "repo"), map[string]string{
		"model.safetensors": fixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors"),
	})
	res := score(t, dir)
	var js bytes.Buffer
	if err := scorecard.WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	// Scorecard's shape: date, repo.name, scorecard.version, score,
	// checks[].{name, score, reason, details, documentation.{short,url}}.
	var doc struct {
		Date string `json:"date"`
		Repo struct {
			Name string `json:"name"`
		} `json:"repo"`
		Scorecard struct {
			Version string `json:"version"`
		} `json:"scorecard"`
		Score  *float64 `json:"score"`
		Checks []struct {
			Name          string   `json:"name"`
			Score         *int     `json:"score"`
			Reason        string   `json:"reason"`
			Details       []string `json:"details"`
			Documentation struct {
				Short string `json:"short"`
				URL   string `json:"url"`
			} `json:"documentation"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Date != "2026-01-02" || doc.Repo.Name != dir || doc.Scorecard.Version != "test" || doc.Score == nil {
		t.Errorf("header: %+v", doc)
	}
	if len(doc.Checks) != len(scorecard.Checks()) {
		t.Fatalf("%d checks, want %d", len(doc.Checks), len(scorecard.Checks()))
	}
	for _, c := range doc.Checks {
		if c.Score == nil || c.Details == nil || c.Documentation.Short == "" || !strings.Contains(c.Documentation.URL, "#"+strings.ToLower(c.Name)) {
			t.Errorf("check %s incomplete: %+v", c.Name, c)
		}
	}
	var tab bytes.Buffer
	if err := scorecard.WriteTable(&tab, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Aggregate score:", "Signed-Weights", "0 / 10", "mlsec sign DIR", "Warn: no signature at"} {
		if !strings.Contains(tab.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tab.String())
		}
	}
}

func TestNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := scan.DefaultConfig()
	dets, _ := list.All(cfg)
	if _, err := scorecard.Gather(context.Background(), f, scan.NewRunner(dets, cfg, scan.Options{}), inspect.Options{}); err == nil {
		t.Fatal("a file was scored")
	}
}
