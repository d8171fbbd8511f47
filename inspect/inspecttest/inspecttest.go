// Package inspecttest builds model files and Hugging Face-style repositories
// for the tests and benchmarks of inspect, aibom and the CLI: safetensors
// shards (optionally sparse, so multi-GB files cost no disk), GGUF files with
// general.* metadata, configuration files, tokenizer files, a README with
// front matter and a dataset repository.
package inspecttest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Tensor declares one tensor of a generated file.
type Tensor struct {
	Name  string
	DType string // safetensors dtype (F32, F16, BF16, I64, ...) or GGUF type name (F32, F16)
	Shape []uint64
}

var stBytes = map[string]uint64{"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1}

// WriteSafetensors writes a safetensors file. With sparse the data region
// is a hole (the file is extended with Truncate, no byte written).
func WriteSafetensors(path string, tensors []Tensor, meta map[string]string, sparse bool) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off uint64
	for _, t := range tensors {
		n := stBytes[t.DType]
		if n == 0 {
			return fmt.Errorf("inspecttest: dtype %s", t.DType)
		}
		for _, d := range t.Shape {
			n *= d
		}
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": t.Shape, "data_offsets": []uint64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header) // keys sorted: deterministic
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(h)))
	buf.Write(h)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(buf.Bytes()); err != nil {
		return err
	}
	total := int64(buf.Len()) + int64(off)
	if sparse {
		return f.Truncate(total)
	}
	_, err = f.Write(make([]byte, off))
	return err
}

// KV is a GGUF metadata pair. Value is a string, uint32, uint64, float32,
// bool or []string.
type KV struct {
	Key   string
	Value any
}

// ggufTypes maps GGUF tensor type names to (id, block elements, block bytes).
var ggufTypes = map[string][3]uint64{"F32": {0, 1, 4}, "F16": {1, 1, 2}, "Q8_0": {8, 32, 34}, "Q4_K": {12, 256, 144}}

// WriteGGUF writes a little-endian GGUF v3 file. With sparse the tensor
// data is a hole.
func WriteGGUF(path string, kvs []KV, tensors []Tensor, sparse bool) error {
	var b bytes.Buffer
	le := binary.LittleEndian
	str := func(s string) {
		binary.Write(&b, le, uint64(len(s)))
		b.WriteString(s)
	}
	b.WriteString("GGUF")
	binary.Write(&b, le, uint32(3))
	binary.Write(&b, le, uint64(len(tensors)))
	binary.Write(&b, le, uint64(len(kvs)))
	for _, kv := range kvs {
		str(kv.Key)
		switch v := kv.Value.(type) {
		case string:
			binary.Write(&b, le, uint32(8))
			str(v)
		case uint32:
			binary.Write(&b, le, uint32(4))
			binary.Write(&b, le, v)
		case uint64:
			binary.Write(&b, le, uint32(10))
			binary.Write(&b, le, v)
		case float32:
			binary.Write(&b, le, uint32(6))
			binary.Write(&b, le, v)
		case bool:
			binary.Write(&b, le, uint32(7))
			if v {
				b.WriteByte(1)
			} else {
				b.WriteByte(0)
			}
		case []string:
			binary.Write(&b, le, uint32(9))
			binary.Write(&b, le, uint32(8))
			binary.Write(&b, le, uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		default:
			return fmt.Errorf("inspecttest: GGUF value %T", v)
		}
	}
	var off uint64
	for _, t := range tensors {
		ty, ok := ggufTypes[t.DType]
		if !ok {
			return fmt.Errorf("inspecttest: GGUF type %s", t.DType)
		}
		str(t.Name)
		binary.Write(&b, le, uint32(len(t.Shape)))
		n := uint64(1)
		for _, d := range t.Shape {
			binary.Write(&b, le, d)
			n *= d
		}
		binary.Write(&b, le, uint32(ty[0]))
		binary.Write(&b, le, off)
		size := n / ty[1] * ty[2]
		off += (size + 31) / 32 * 32
	}
	for b.Len()%32 != 0 {
		b.WriteByte(0)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b.Bytes()); err != nil {
		return err
	}
	if sparse {
		return f.Truncate(int64(b.Len()) + int64(off))
	}
	_, err = f.Write(make([]byte, off))
	return err
}

// Card is the README.md of the model repository Repo writes.
const Card = `---
license: apache-2.0
language:
  - en
  - fr
library_name: transformers
pipeline_tag: text-generation
base_model: acme/tiny-base
base_model_relation: finetune
datasets:
  - acme/instructions
  - squad
tags:
  - llama
  - chat
model-index:
  - name: tiny-chat
    results:
      - task:
          type: text-generation
          name: Text Generation
        dataset:
          type: squad
          name: SQuAD
          split: validation
        metrics:
          - type: exact_match
            value: 71.5
            name: Exact match
            verified: false
          - type: f1
            value: 80.25
---

# tiny-chat

tiny-chat is a small chat model fine-tuned from acme/tiny-base for tests.

## Uses

### Direct Use

Answering questions about the test suite.

### Out-of-Scope Use

Anything that matters: the weights are zeros.

## Bias, Risks, and Limitations

The model knows nothing and may repeat its prompt.

### Recommendations

[More Information Needed]

## Training Details

Fine-tuned for one step on acme/instructions.

## Environmental Impact

Negligible: 1 CPU second.
`

// ChatTemplate is the tokenizer_config.json chat template of Repo.
const ChatTemplate = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"

// RepoOptions vary the repository Repo writes.
type RepoOptions struct {
	// Card replaces the README.md; NoCard leaves it out.
	Card   string
	NoCard bool
	// Shards is the number of safetensors shards (default 2).
	Shards int
	// Hidden and Layers size the tensors (defaults 64 and 2); large values
	// with Sparse make multi-GB files that take no disk.
	Hidden, Layers uint64
	Sparse         bool
	// ExtraFiles adds files that are not models (for file counts).
	ExtraFiles int
}

// Repo writes a Hugging Face-style model repository into dir: README.md,
// config.json, generation_config.json, tokenizer_config.json,
// tokenizer.json, special_tokens_map.json, safetensors shards with
// model.safetensors.index.json.
func Repo(tb testing.TB, dir string, o RepoOptions) {
	tb.Helper()
	if err := WriteRepo(dir, o); err != nil {
		tb.Fatal(err)
	}
}

// WriteRepo is Repo returning an error.
func WriteRepo(dir string, o RepoOptions) error {
	if o.Shards == 0 {
		o.Shards = 2
	}
	if o.Hidden == 0 {
		o.Hidden = 64
	}
	if o.Layers == 0 {
		o.Layers = 2
	}
	const vocab = 256
	write := func(name, content string) error {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	js := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		return write(name, string(b)+"\n")
	}
	if !o.NoCard {
		card := o.Card
		if card == "" {
			card = Card
		}
		if err := write("README.md", card); err != nil {
			return err
		}
	}
	if err := js("config.json", map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama",
		"hidden_size": o.Hidden, "intermediate_size": o.Hidden * 4, "num_hidden_layers": o.Layers,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": vocab,
		"max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "torch_dtype": "bfloat16",
		"transformers_version": "4.46.0", "hidden_act": "silu",
	}); err != nil {
		return err
	}
	if err := js("generation_config.json", map[string]any{"bos_token_id": 1, "eos_token_id": 2, "temperature": 0.7, "do_sample": true, "transformers_version": "4.46.0"}); err != nil {
		return err
	}
	if err := js("tokenizer_config.json", map[string]any{"tokenizer_class": "LlamaTokenizerFast", "model_max_length": 2048, "chat_template": ChatTemplate, "bos_token": "<s>", "eos_token": "</s>"}); err != nil {
		return err
	}
	if err := js("tokenizer.json", map[string]any{"version": "1.0", "model": map[string]any{"type": "BPE", "vocab": map[string]int{"<s>": 1, "</s>": 2}}}); err != nil {
		return err
	}
	if err := js("special_tokens_map.json", map[string]any{"bos_token": "<s>", "eos_token": "</s>"}); err != nil {
		return err
	}
	// Tensors: embedding, per-layer projections, norm and head, split over
	// the shards round-robin by layer.
	shards := make([][]Tensor, o.Shards)
	shards[0] = append(shards[0], Tensor{"model.embed_tokens.weight", "BF16", []uint64{vocab, o.Hidden}})
	for l := uint64(0); l < o.Layers; l++ {
		s := int(l) % o.Shards
		p := fmt.Sprintf("model.layers.%d.", l)
		shards[s] = append(shards[s],
			Tensor{p + "self_attn.q_proj.weight", "BF16", []uint64{o.Hidden, o.Hidden}},
			Tensor{p + "self_attn.k_proj.weight", "BF16", []uint64{o.Hidden / 2, o.Hidden}},
			Tensor{p + "mlp.up_proj.weight", "BF16", []uint64{o.Hidden * 4, o.Hidden}},
			Tensor{p + "input_layernorm.weight", "F32", []uint64{o.Hidden}},
		)
	}
	last := o.Shards - 1
	shards[last] = append(shards[last], Tensor{"model.norm.weight", "F32", []uint64{o.Hidden}}, Tensor{"lm_head.weight", "BF16", []uint64{vocab, o.Hidden}})
	weightMap := map[string]string{}
	for i, ts := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, o.Shards)
		if o.Shards == 1 {
			name = "model.safetensors"
		}
		for _, t := range ts {
			weightMap[t.Name] = name
		}
		if err := WriteSafetensors(filepath.Join(dir, name), ts, map[string]string{"format": "pt"}, o.Sparse); err != nil {
			return err
		}
	}
	if o.Shards > 1 {
		keys := make([]string, 0, len(weightMap))
		for k := range weightMap {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if err := js("model.safetensors.index.json", map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": weightMap}); err != nil {
			return err
		}
	}
	for i := 0; i < o.ExtraFiles; i++ {
		if err := write(fmt.Sprintf("extra/notes-%02d.txt", i), "note\n"); err != nil {
			return err
		}
	}
	return nil
}

// DatasetCard is the README.md of the dataset repository Dataset writes.
const DatasetCard = `---
license: cc-by-4.0
pretty_name: Acme Instructions
language:
  - en
task_categories:
  - question-answering
size_categories:
  - n<1K
---

# Acme Instructions

A tiny instruction dataset for tests.

## Dataset Structure

One JSON object per line with prompt and answer.

## Considerations for Using the Data

### Social Impact of Dataset

None.

### Discussion of Biases

Written by one person: expect their biases.
`

// Dataset writes a Hugging Face-style dataset repository into dir.
func Dataset(tb testing.TB, dir string) {
	tb.Helper()
	files := map[string]string{
		"README.md":        DatasetCard,
		"data/train.jsonl": "{\"prompt\": \"2+2?\", \"answer\": \"4\"}\n{\"prompt\": \"capital of France?\", \"answer\": \"Paris\"}\n",
		"data/test.jsonl":  "{\"prompt\": \"3+3?\", \"answer\": \"6\"}\n",
		".gitattributes":   "*.jsonl filter=lfs\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// GGUFModel writes a quantised llama GGUF file with general.* metadata
// (name, license, base model and dataset lineage), a context length, a
// tokenizer and a chat template.
func GGUFModel(tb testing.TB, path string) {
	tb.Helper()
	kvs := []KV{
		{"general.architecture", "llama"},
		{"general.name", "Tiny Chat Q4"},
		{"general.organization", "Acme"},
		{"general.author", "Acme Research"},
		{"general.version", "v1.0"},
		{"general.description", "A tiny chat model, quantized for tests."},
		{"general.url", "https://example.com/tiny-chat"},
		{"general.license", "apache-2.0"},
		{"general.file_type", uint32(15)},
		{"general.quantization_version", uint32(2)},
		{"general.base_model.count", uint32(1)},
		{"general.base_model.0.name", "Tiny Chat"},
		{"general.base_model.0.organization", "Acme"},
		{"general.base_model.0.repo_url", "https://huggingface.co/acme/tiny-chat"},
		{"general.dataset.count", uint32(2)},
		{"general.dataset.0.name", "instructions"},
		{"general.dataset.0.organization", "acme"},
		{"general.dataset.1.name", "Open Web Text"},
		{"general.dataset.1.repo_url", "https://huggingface.co/datasets/openwebtext/openwebtext"},
		{"llama.context_length", uint32(4096)},
		{"llama.embedding_length", uint32(64)},
		{"llama.block_count", uint32(2)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>"}},
		{"tokenizer.chat_template", ChatTemplate},
	}
	tensors := []Tensor{
		{"token_embd.weight", "Q4_K", []uint64{256, 256}},
		{"blk.0.attn_q.weight", "Q4_K", []uint64{256, 256}},
		{"blk.0.attn_norm.weight", "F32", []uint64{256}},
		{"output_norm.weight", "F32", []uint64{256}},
	}
	if err := WriteGGUF(path, kvs, tensors, false); err != nil {
		tb.Fatal(err)
	}
}
