package hfrepo

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fakeSink struct {
	findings []mlsec.Finding
	facts    map[string]string
}

func (s *fakeSink) Report(f mlsec.Finding) { s.findings = append(s.findings, f) }
func (s *fakeSink) Limits() scan.Limits    { return scan.DefaultLimits() }
func (s *fakeSink) Nested(context.Context, string, io.ReaderAt, int64) error {
	panic("hfrepo must not nest")
}
func (s *fakeSink) Annotate(k, v string) {
	if s.facts == nil {
		s.facts = map[string]string{}
	}
	s.facts[k] = v
}

// write creates files (name → content) under dir; a content starting with
// "->" makes a symbolic link to the rest.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if len(content) > 2 && content[:2] == "->" {
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	modelConfig = `{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "transformers_version": "4.44.0"}`
	remoteCfg   = `{"architectures": ["XModel"], "model_type": "x", "auto_map": {"AutoConfig": "configuration_x.XConfig", "AutoModelForCausalLM": "modeling_x.XForCausalLM"}}`
	rev         = "0123456789abcdef0123456789abcdef01234567"
)

func TestRepos(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		dir   string // the directory to scan, relative to the temp dir
		facts map[string]string
	}{
		{
			name:  "plain-model",
			files: map[string]string{"m/config.json": modelConfig, "m/model.safetensors": "x", "m/README.md": "---\nlicense: mit\n---\n"},
			dir:   "m",
			facts: map[string]string{FactRepository: "m", FactType: "model", FactSource: "files"},
		},
		{
			name: "git-clone-remote-code",
			files: map[string]string{
				"x/.git/config":           "[remote \"origin\"]\n\turl = https://huggingface.co/acme/x-7b\n",
				"x/.git/HEAD":             "ref: refs/heads/main\n",
				"x/.git/refs/heads/main":  rev + "\n",
				"x/config.json":           remoteCfg,
				"x/tokenizer_config.json": `{"auto_map": {"AutoTokenizer": ["tokenization_x.XTokenizer", null]}}`,
				"x/configuration_x.py":    "class XConfig: pass\n",
				"x/modeling_x.py":         "import os\n",
				"x/tokenization_x.py":     "class XTokenizer: pass\n",
				"x/handler.py":            "class EndpointHandler: pass\n",
				"x/model.safetensors":     "x",
			},
			dir:   "x",
			facts: map[string]string{FactRepository: "acme/x-7b", FactType: "model", FactSource: "git", FactRevision: rev},
		},
		{
			name: "auto-map-other-repo",
			files: map[string]string{
				"y/config.json": `{"model_type": "y", "auto_map": {"AutoModel": "evil/code--modeling_y.YModel"}}`,
			},
			dir:   "y",
			facts: map[string]string{FactRepository: "y", FactType: "model", FactSource: "files"},
		},
		{
			name: "dataset-script",
			files: map[string]string{
				"cache/datasets--acme--squad/snapshots/" + rev + "/README.md":  "---\ndataset_info:\n  features: []\n---\n",
				"cache/datasets--acme--squad/snapshots/" + rev + "/squad.py":   "import datasets\n",
				"cache/datasets--acme--squad/snapshots/" + rev + "/data/a.csv": "a,b\n",
			},
			dir:   "cache/datasets--acme--squad/snapshots/" + rev,
			facts: map[string]string{FactRepository: "acme/squad", FactType: "dataset", FactSource: "hf-cache", FactRevision: rev},
		},
		{
			name: "cache-snapshot-pickle-and-safetensors",
			files: map[string]string{
				"hub/models--org--name/blobs/aaa":                          modelConfig,
				"hub/models--org--name/blobs/bbb":                          "pickle",
				"hub/models--org--name/blobs/ccc":                          "st",
				"hub/models--org--name/refs/main":                          "abc123",
				"hub/models--org--name/snapshots/abc123/config.json":       "->../../blobs/aaa",
				"hub/models--org--name/snapshots/abc123/pytorch_model.bin": "->../../blobs/bbb",
				"hub/models--org--name/snapshots/abc123/model.safetensors": "->../../blobs/ccc",
				"hub/models--org--name/snapshots/abc123/training_args.bin": "->../../blobs/bbb",
			},
			dir:   "hub/models--org--name/snapshots/abc123",
			facts: map[string]string{FactRepository: "org/name", FactType: "model", FactSource: "hf-cache", FactRevision: "abc123"},
		},
		{
			name: "cache-link-outside",
			files: map[string]string{
				"outside/config.json":                            remoteCfg,
				"hub/models--org--leak/snapshots/r1/config.json": "->../../../../outside/config.json",
			},
			dir:   "hub/models--org--leak/snapshots/r1",
			facts: map[string]string{FactRepository: "org/leak", FactType: "model", FactSource: "hf-cache", FactRevision: "r1"},
		},
		{
			name: "local-dir-download",
			files: map[string]string{
				"ld/config.json": modelConfig,
				"ld/.cache/huggingface/download/config.json.metadata":       rev + "\netag\n1700000000.0\n",
				"ld/.cache/huggingface/download/model.safetensors.metadata": rev + "\netag\n1700000000.0\n",
				"ld/model.safetensors": "st",
			},
			dir:   "ld",
			facts: map[string]string{FactRepository: "ld", FactType: "model", FactSource: "hf-local-dir", FactRevision: rev},
		},
		{
			name:  "not-a-repo",
			files: map[string]string{"proj/main.py": "print(1)\n", "proj/config.json": `{"debug": true}`, "proj/w.bin": "x", "proj/w.safetensors": "y"},
			dir:   "proj",
		},
	}
	d := sinktest.Detector(t, New)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tt.files)
			s := &fakeSink{}
			in := &scan.Input{Path: tt.dir, Dir: filepath.Join(root, filepath.FromSlash(tt.dir)), Kind: format.HFRepo}
			if err := d.Scan(context.Background(), in, s); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.facts, s.facts); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			golden.JSON(t, filepath.Join("testdata", "golden", tt.name+".json"), golden.Brief(s.findings), *update)
		})
	}
}

// TestRunner checks that the runner calls the detector for the snapshot
// directory and keeps the repository facts in the report.
func TestRunner(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"models--org--name/blobs/aaa":                  remoteCfg,
		"models--org--name/snapshots/r2/config.json":   "->../../blobs/aaa",
		"models--org--name/snapshots/r2/modeling_x.py": "x = 1\n",
	})
	d, _ := New(scan.DefaultConfig())
	r := scan.NewRunner([]scan.Detector{d}, scan.DefaultConfig(), scan.Options{Workers: 1})
	res, err := r.Scan(context.Background(), []string{filepath.Join(root, "models--org--name")})
	if err != nil {
		t.Fatal(err)
	}
	var facts map[string]string
	var rules []string
	for _, a := range res.Artifacts {
		if a.Facts[FactRepository] != "" {
			facts = a.Facts
			for _, f := range a.Findings {
				rules = append(rules, f.RuleID)
			}
		}
	}
	if facts[FactRepository] != "org/name" || facts[FactRevision] != "r2" {
		t.Errorf("facts %v", facts)
	}
	if diff := cmp.Diff([]string{RuleAutoMap}, rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
