package inspect_test

import (
	"archive/zip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/inspect/inspecttest"
	"github.com/mlsecops/mlsec/signing"
)

func run(t *testing.T, path string, opts inspect.Options) *inspect.Report {
	t.Helper()
	r, err := inspect.Inspect(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny-chat")
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{})
	r := run(t, dir, inspect.Options{Name: "acme/tiny-chat", Revision: "abc123"})
	m := r.Model
	tmpl := m.ChatTemplates[0]
	got := inspect.Model{
		Name: m.Name, Formats: m.Formats, Framework: m.Framework, Architecture: m.Architecture,
		ModelType: m.ModelType, Task: m.Task, Params: m.Params, Tensors: m.Tensors, DTypes: m.DTypes,
		ContextLength: m.ContextLength, Tokenizer: m.Tokenizer, License: m.License,
		BaseModels: m.BaseModels, Datasets: m.Datasets, Languages: m.Languages,
	}
	// 256x64 embedding + head, 2 layers of 64x64 + 32x64 + 256x64 + 64, norm 64.
	params := uint64(2*256*64 + 2*(64*64+32*64+256*64+64) + 64)
	want := inspect.Model{
		Name: "acme/tiny-chat", Formats: []string{"safetensors"}, Framework: "transformers",
		Architecture: "LlamaForCausalLM", ModelType: "llama", Task: "text-generation",
		Params: params, Tensors: 11, DTypes: []string{"BF16", "F32"}, ContextLength: 2048,
		Tokenizer: "LlamaTokenizerFast", License: "apache-2.0",
		BaseModels: []inspect.Reference{{Name: "acme/tiny-base", URL: "https://huggingface.co/acme/tiny-base", Source: "card", Relation: "finetune"}},
		Datasets: []inspect.Reference{
			{Name: "acme/instructions", URL: "https://huggingface.co/datasets/acme/instructions", Source: "card"},
			{Name: "squad", URL: "https://huggingface.co/datasets/squad", Source: "card"},
		},
		Languages: []string{"en", "fr"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("model (-want +got):\n%s", d)
	}
	if tmpl.Source != "tokenizer_config.json" || tmpl.Length != len(inspecttest.ChatTemplate) || len(tmpl.SHA256) != 64 {
		t.Errorf("chat template = %+v", tmpl)
	}
	if r.Repository == nil || r.Repository.Source != "options" || r.Repository.Revision != "abc123" {
		t.Errorf("repository = %+v", r.Repository)
	}
	if got := m.Hyperparameters["num_hidden_layers"]; got != "2" {
		t.Errorf("num_hidden_layers = %q", got)
	}
	if len(r.Card.Results) != 2 || r.Card.Results[1].Value != "80.25" {
		t.Errorf("results = %+v", r.Card.Results)
	}
	if r.RootDigest != "" || r.Files[0].SHA256 != "" {
		t.Error("hashes without Digest")
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
}

func TestDigest(t *testing.T) {
	dir := t.TempDir()
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{Shards: 1})
	r := run(t, dir, inspect.Options{Digest: true})
	if !strings.HasPrefix(r.RootDigest, "sha256:") || len(r.RootDigest) != 71 {
		t.Errorf("root digest %q", r.RootDigest)
	}
	for _, f := range r.Files {
		if len(f.SHA256) != 64 {
			t.Errorf("%s: sha256 %q", f.Path, f.SHA256)
		}
	}
}

func TestGGUF(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tiny.Q4_K_M.gguf")
	inspecttest.GGUFModel(t, p)
	r := run(t, p, inspect.Options{})
	if len(r.Artifacts) != 1 {
		t.Fatalf("artifacts = %+v", r.Artifacts)
	}
	a := r.Artifacts[0]
	got := []any{a.Format, a.Architecture, a.Quantization, a.ContextLength, a.Tokenizer, a.License, a.Name, a.Tensors, a.Params, r.Model.License}
	want := []any{format.GGUF, "llama", "MOSTLY_Q4_K_M", uint64(4096), "llama", "apache-2.0", "Tiny Chat Q4", 4, uint64(2*256*256 + 2*256), "apache-2.0"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("facts (-want +got):\n%s", d)
	}
	wantBase := []inspect.Reference{{Name: "acme/tiny-chat", URL: "https://huggingface.co/acme/tiny-chat", Source: "gguf"}}
	if d := cmp.Diff(wantBase, a.BaseModels); d != "" {
		t.Errorf("base models (-want +got):\n%s", d)
	}
	wantDS := []inspect.Reference{
		{Name: "acme/instructions", URL: "https://huggingface.co/datasets/acme/instructions", Source: "gguf"},
		{Name: "openwebtext/openwebtext", URL: "https://huggingface.co/datasets/openwebtext/openwebtext", Source: "gguf"},
	}
	if d := cmp.Diff(wantDS, a.Datasets); d != "" {
		t.Errorf("datasets (-want +got):\n%s", d)
	}
	if len(a.ChatTemplates) != 1 || a.ChatTemplates[0].Source != "tiny.Q4_K_M.gguf:tokenizer.chat_template" {
		t.Errorf("templates = %+v", a.ChatTemplates)
	}
	if r.Card != nil || r.Repository != nil {
		t.Errorf("single file has card %v repository %v", r.Card, r.Repository)
	}
}

func TestONNX(t *testing.T) {
	r := run(t, "testdata/single_relu.onnx", inspect.Options{})
	o := r.Artifacts[0].ONNX
	if o == nil {
		t.Fatal("no ONNX facts")
	}
	want := &inspect.ONNXFacts{
		IRVersion: 3, Producer: "backend-test", Opsets: []inspect.Opset{{Domain: "ai.onnx", Version: 6}},
		Domains: []string{"ai.onnx"}, Nodes: 1, Operators: []string{"ai.onnx:Relu"},
		Inputs: []inspect.IO{{Name: "x", Type: "float[1,2]"}}, Outputs: []inspect.IO{{Name: "y", Type: "float[1,2]"}},
	}
	if d := cmp.Diff(want, o); d != "" {
		t.Errorf("ONNX facts (-want +got):\n%s", d)
	}
}

// TestDebianONNX inspects every model of Debian's libonnx-testdata: each
// yields opsets and a node count, none an error.
func TestDebianONNX(t *testing.T) {
	const root = "/usr/share/libonnx-testdata/data"
	if _, err := os.Stat(root); err != nil {
		t.Skip("libonnx-testdata not installed")
	}
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".onnx") {
			return err
		}
		r, err := inspect.Inspect(context.Background(), p, inspect.Options{})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if len(r.Artifacts) != 1 || r.Artifacts[0].ONNX == nil || len(r.Artifacts[0].ONNX.Opsets) == 0 || len(r.Warnings) > 0 {
			t.Errorf("%s: artifacts %+v warnings %v", p, r.Artifacts, r.Warnings)
		}
		n++
		return nil
	})
	if err != nil || n < 100 {
		t.Fatalf("walked %d models: %v", n, err)
	}
}

func TestKerasH5(t *testing.T) {
	r := run(t, "../format/hdf5/testdata/keras2_latest.h5", inspect.Options{})
	if len(r.Artifacts) != 1 || r.Artifacts[0].Keras == nil {
		t.Fatalf("artifacts = %+v", r.Artifacts)
	}
	k := r.Artifacts[0].Keras
	if k.Class == "" || len(k.Layers) == 0 || r.Artifacts[0].Framework != "keras" {
		t.Errorf("keras facts = %+v", k)
	}
}

func TestKerasArchive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.keras")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{
		"config.json":   `{"class_name": "Sequential", "config": {"name": "seq", "layers": [{"class_name": "InputLayer", "config": {}}, {"class_name": "Dense", "config": {}}, {"class_name": "Dense", "config": {}}]}}`,
		"metadata.json": `{"keras_version": "3.6.0"}`,
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	w, _ := zw.Create("model.weights.h5")
	w.Write([]byte("\x89HDF\r\n\x1a\n"))
	zw.Close()
	f.Close()
	r := run(t, p, inspect.Options{})
	want := &inspect.KerasFacts{Version: "3.6.0", Class: "Sequential", Name: "seq", Layers: []string{"InputLayer", "Dense", "Dense"}}
	if len(r.Artifacts) != 1 {
		t.Fatalf("artifacts = %+v (warnings %v)", r.Artifacts, r.Warnings)
	}
	if d := cmp.Diff(want, r.Artifacts[0].Keras); d != "" {
		t.Errorf("keras (-want +got):\n%s", d)
	}
}

func TestDataset(t *testing.T) {
	dir := t.TempDir()
	inspecttest.Dataset(t, dir)
	r := run(t, dir, inspect.Options{Name: "acme/instructions"})
	if r.Subject != inspect.SubjectDataset || r.Model.License != "cc-by-4.0" || r.Card.PrettyName != "Acme Instructions" {
		t.Errorf("subject %q license %q card %+v", r.Subject, r.Model.License, r.Card)
	}
}

func TestNegativeCards(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    inspecttest.RepoOptions
		warning string
	}{
		{"missing card", inspecttest.RepoOptions{NoCard: true}, "no model card: README.md is missing"},
		{"malformed front matter", inspecttest.RepoOptions{Card: "---\nlicense: [apache-2.0\n---\n# x\n\n## Limitations\n\nMany.\n"}, "malformed model card front matter"},
		{"wrong types", inspecttest.RepoOptions{Card: "---\nlicense: {a: b}\ndatasets: 3\n---\n"}, "unexpected value type for license"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			inspecttest.Repo(t, dir, tc.opts)
			r := run(t, dir, inspect.Options{})
			if !strings.Contains(strings.Join(r.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q, want %q", r.Warnings, tc.warning)
			}
			if r.Model.Architecture != "LlamaForCausalLM" {
				t.Errorf("facts lost: %+v", r.Model)
			}
		})
	}
}

func TestParseCard(t *testing.T) {
	c, err := inspect.ParseCard([]byte("---\nlicense:\n  - mit\n  - apache-2.0\nbase_model: [a/b, c/d]\n---\n# T\n\nIntro text\nwrapped.\n\n```\n## not a heading\n```\n\n## Out-of-Scope Use\n\n<!-- comment -->\nDo not.\n\n## Intended users\n\n[More Information Needed]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &inspect.Card{
		Source: "README.md", License: "mit AND apache-2.0", BaseModels: []string{"a/b", "c/d"},
		Description: "Intro text wrapped.",
		Sections:    []inspect.Section{{Kind: inspect.SectionOutOfScope, Heading: "Out-of-Scope Use", Text: "Do not."}},
	}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("card (-want +got):\n%s", d)
	}
	if _, err := inspect.ParseCard([]byte("---\na: [\n")); err == nil {
		t.Error("unterminated front matter: no error")
	}
}

func TestTable(t *testing.T) {
	dir := t.TempDir()
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{})
	var b strings.Builder
	if err := inspect.WriteTable(&b, run(t, dir, inspect.Options{})); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"LlamaForCausalLM", "parameters", "chat template", "acme/tiny-base (finetune) [card]", "model-00002-of-00002.safetensors"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
}

func TestHumanCount(t *testing.T) {
	for n, want := range map[uint64]string{999: "999", 1500: "1.5K", 7_240_000_000: "7.24B", 125_000_000: "125M"} {
		if got := inspect.HumanCount(n); got != want {
			t.Errorf("HumanCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPickleFrameworks(t *testing.T) {
	for file, want := range map[string]string{
		"my-custom.root.name.pth": "pytorch",
		"jl_logreg.joblib":        "scikit-learn",
		"np_float32.npy":          "numpy",
	} {
		r := run(t, filepath.Join("../testdata/models", file), inspect.Options{})
		if len(r.Artifacts) != 1 || r.Artifacts[0].Framework != want {
			t.Errorf("%s: artifacts %+v, want framework %s", file, r.Artifacts, want)
		}
	}
}

// FuzzParseCard feeds model cards to the front matter and section parser:
// it must not panic, whatever the YAML.
func FuzzParseCard(f *testing.F) {
	files, _ := filepath.Glob("testdata/cards/*.md")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _ := inspect.ParseCard(b)
		if c == nil {
			t.Fatal("nil card")
		}
	})
}

func TestSymlinkOutside(t *testing.T) {
	base := t.TempDir()
	secret := filepath.Join(base, "secret.txt")
	if err := os.WriteFile(secret, []byte("---\nlicense: leaked\n---\nsecret text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "repo")
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{NoCard: true, Shards: 1})
	if err := os.Symlink(secret, filepath.Join(dir, "README.md")); err != nil {
		t.Skip(err)
	}
	if err := os.Symlink("config.json", filepath.Join(dir, "config-link.json")); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, inspect.Options{})
	if r.Card != nil || r.Model.License != "" {
		t.Errorf("followed a link outside the repository: card %+v", r.Card)
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "README.md: symbolic link leads outside the repository") {
		t.Errorf("warnings %q", r.Warnings)
	}
	found := false
	for _, f := range r.Files {
		found = found || f.Path == "config-link.json"
	}
	if !found {
		t.Error("a link inside the repository was dropped")
	}
}

func TestMissingShard(t *testing.T) {
	dir := t.TempDir()
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{Shards: 3})
	if err := os.Remove(filepath.Join(dir, "model-00002-of-00003.safetensors")); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, inspect.Options{})
	want := []string{"model.safetensors.index.json names shard model-00002-of-00003.safetensors, which is missing"}
	if d := cmp.Diff(want, r.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

// TestRootDigestMatchesSignature: the OMS root digest of a signed model
// directory is the one its signature records, whatever evidence lies
// beside the weights (model.sig, claims.jsonl), so a BOM pairs up with the
// signature and the attestations.
func TestRootDigestMatchesSignature(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{Shards: 1})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	res, err := signing.Sign(context.Background(), dir, &signing.KeySigner{Key: key}, signing.HashOptions{IgnorePaths: []string{signing.DefaultSignatureName}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, signing.DefaultSignatureName), res.Bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, signing.ClaimsFileName), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, inspect.Options{Digest: true})
	if want := "sha256:" + hex.EncodeToString(res.Manifest.RootDigest()); r.RootDigest != want {
		t.Errorf("root digest %s, the signature records %s", r.RootDigest, want)
	}
	for _, f := range r.Files {
		if f.SHA256 == "" && f.Path != signing.DefaultSignatureName && f.Path != signing.ClaimsFileName {
			t.Errorf("%s has no sha256", f.Path)
		}
	}
}

// TestDatasetWithoutCard: a directory of data files with neither a model
// file nor a dataset card is a dataset, not a model without weights.
func TestDatasetWithoutCard(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"train.jsonl": `{"q":"hi"}` + "\n", "test.csv": "q,a\n", "README.md": "notes\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r := run(t, dir, inspect.Options{}); r.Subject != inspect.SubjectDataset {
		t.Errorf("subject %q, want dataset", r.Subject)
	}
	// A config.json beside them makes it a model repository.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"bert"}`), 0o644)
	if r := run(t, dir, inspect.Options{}); r.Subject != inspect.SubjectModel {
		t.Errorf("with config.json: subject %q, want model", r.Subject)
	}
}

// TestLLMArtifacts inspects the small LLM application written by
// testdata/llm/gen.py: every artifact kind is recognised by content, the
// corpus counts its documents and the adapter's base model becomes a base
// model of the subject.
func TestLLMArtifacts(t *testing.T) {
	r, err := inspect.Inspect(context.Background(), "../testdata/llm/app", inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range r.LLM {
		got[a.Path] = string(a.Kind)
	}
	want := map[string]string{
		".well-known/agent-card.json":             "a2a-agent-card",
		"adapter/adapter_config.json":             "lora-adapter",
		"corpus/index/default__vector_store.json": "vector-index-manifest",
		"guardrails/config.yml":                   "guardrail-config",
		"mcp.json":                                "mcp-manifest",
		"prompts/system.prompty":                  "prompt-template",
		"corpus":                                  "rag-corpus",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("LLM artifacts (-want +got):\n%s", d)
	}
	for _, a := range r.LLM {
		if a.Kind == inspect.KindRAGCorpus && (a.Documents != 3 || a.DocumentBytes == 0) {
			t.Errorf("corpus: %d documents, %d bytes", a.Documents, a.DocumentBytes)
		}
	}
	if len(r.Model.BaseModels) != 1 || r.Model.BaseModels[0].Name != "mistralai/Mistral-7B-v0.1" || r.Model.BaseModels[0].Relation != "adapter" {
		t.Errorf("base models %+v", r.Model.BaseModels)
	}
}
