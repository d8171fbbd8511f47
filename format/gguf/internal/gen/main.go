// Command gen writes the GGUF fixtures in format/gguf/testdata. Debian and
// npm ship no GGUF files, so they are built here from the specification.
// Run it from the module root:
//
//	go run ./format/gguf/internal/gen
//
// valid-*.gguf and template-*.gguf parse without problems (template-*
// carry chat templates for the template analysis); bad-*.gguf carry the
// violation their name describes.
package main

import (
	"log"
	"os"
	"path/filepath"

	w "github.com/mlsecops/mlsec/format/gguf/internal/ggufwrite"
)

func main() {
	dir := filepath.Join("format", "gguf", "testdata")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for name, data := range Fixtures() {
		if err := os.WriteFile(filepath.Join(dir, name+".gguf"), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// ChatML is the ChatML chat template (Qwen, OpenHermes and others).
const ChatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// Exploit is the public proof of concept of CVE-2024-34359
// (llama-cpp-python rendered GGUF chat templates outside a sandbox).
const Exploit = "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}{%endif%}{% endfor %}"

// model adds the metadata of a small llama model and three tensors:
// F32 [8,4] (128 bytes), Q4_0 [32,2] (36 bytes), Q8_0 [64] (68 bytes).
func model(b *w.Builder, template string) *w.Builder {
	b.KV("general.architecture", w.String, "llama").
		KV("general.name", w.String, "tiny-test").
		KV("general.license", w.String, "apache-2.0").
		KV("general.base_model.count", w.Uint32, 1).
		KV("general.base_model.0.name", w.String, "Base Model").
		KV("general.base_model.0.repo_url", w.String, "https://huggingface.co/example/base").
		KV("general.dataset.count", w.Uint32, 1).
		KV("general.dataset.0.name", w.String, "example-data").
		KV("general.file_type", w.Uint32, 15).
		KV("general.alignment", w.Uint32, 32).
		KV("llama.context_length", w.Uint32, 4096).
		KV("llama.rope.freq_base", w.Float32, 10000.0).
		KV("llama.use_parallel_residual", w.Bool, true).
		KV("tokenizer.ggml.model", w.String, "gpt2").
		KV("tokenizer.ggml.tokens", w.Array, w.ArrayValue{Type: w.String, Items: []any{"<s>", "</s>", "a", "b"}}).
		KV("tokenizer.ggml.scores", w.Array, w.ArrayValue{Type: w.Float32, Items: []any{0.0, 0.0, -1.0, -2.0}}).
		KV("test.nested", w.Array, w.ArrayValue{Type: w.Array, Items: []any{
			w.ArrayValue{Type: w.Int32, Items: []any{1, 2}},
			w.ArrayValue{Type: w.Int32, Items: []any{3}},
		}}).
		KV("test.scalars.u8", w.Uint8, 1).
		KV("test.scalars.i8", w.Int8, 2).
		KV("test.scalars.u16", w.Uint16, 3).
		KV("test.scalars.i16", w.Int16, 4).
		KV("test.scalars.i32", w.Int32, 5).
		KV("test.scalars.u64", w.Uint64, 6).
		KV("test.scalars.i64", w.Int64, 7).
		KV("test.scalars.f64", w.Float64, 8.5)
	if template != "" {
		b.KV("tokenizer.chat_template", w.String, template)
	}
	return b.Tensor("token_embd.weight", []uint64{8, 4}, 0, 0).
		Tensor("blk.0.attn_q.weight", []uint64{32, 2}, 2, 128).
		Tensor("output.weight", []uint64{64}, 8, 192)
}

// file appends 260 bytes of tensor data (the last tensor ends at 260).
func file(b *w.Builder) []byte {
	data := make([]byte, 260)
	for i := range data {
		data[i] = byte(i)
	}
	return append(b.Header(32), data...)
}

// Fixtures returns every fixture by name.
func Fixtures() map[string][]byte {
	be := w.New(3)
	be.BigEndian = true
	m := map[string][]byte{
		"valid-v1":          file(model(w.New(1), ChatML)),
		"valid-v2":          file(model(w.New(2), ChatML)),
		"valid-v3":          file(model(w.New(3), ChatML)),
		"valid-big-endian":  file(model(be, ChatML)),
		"valid-no-tensors":  w.New(3).KV("general.architecture", w.String, "llama").Header(0),
		"template-exploit":  file(model(w.New(3), Exploit)),
		"template-named":    file(model(w.New(3), ChatML).KV("tokenizer.chat_template.tool_use", w.String, "{{ cycler.__init__.__globals__.os.popen('id').read() }}")),
		"bad-version":       append([]byte("GGUF\x04\x00\x00\x00"), make([]byte, 16)...),
		"bad-truncated":     model(w.New(3), ChatML).Header(0)[:600],
		"bad-duplicate-key": file(model(w.New(3), ChatML).KV("general.architecture", w.String, "gpt2")),
		"bad-alignment":     append(w.New(3).KV("general.alignment", w.Uint32, 48).Tensor("t", []uint64{4}, 0, 0).Header(32), make([]byte, 16)...),
		"bad-value-type":    w.New(3).KV("general.architecture", 13, []byte{1, 2, 3, 4}).Header(0),
		"bad-bool":          w.New(3).KV("general.flag", w.Bool, 7).Header(0),
		"bad-dims":          w.New(3).Tensor("t", []uint64{1, 1, 1, 1, 1}, 0, 0).Header(32),
		"bad-tensor-type":   append(w.New(3).Tensor("t", []uint64{4}, 4, 0).Header(32), make([]byte, 32)...),
		"bad-block":         append(w.New(3).Tensor("t", []uint64{31}, 2, 0).Header(32), make([]byte, 32)...),
		"bad-offset-align":  append(w.New(3).Tensor("t", []uint64{4}, 0, 8).Header(32), make([]byte, 64)...),
		"bad-offset-range":  append(w.New(3).Tensor("t", []uint64{1024}, 0, 0).Header(32), make([]byte, 64)...),
		"bad-overlap": append(w.New(3).Tensor("a", []uint64{16}, 0, 0).
			Tensor("b", []uint64{16}, 0, 32).Header(32), make([]byte, 96)...),
		"bad-duplicate-tensor": append(w.New(3).Tensor("a", []uint64{8}, 0, 0).
			Tensor("a", []uint64{8}, 0, 32).Header(32), make([]byte, 64)...),
	}
	huge := w.New(3)
	huge.KVCount = w.U64(1 << 62)
	m["bad-kv-count"] = huge.Header(0)
	huge = w.New(3)
	huge.TensorCount = w.U64(1 << 40)
	m["bad-tensor-count"] = huge.Header(0)
	// A string whose declared length runs past the end of the file.
	sl := w.New(3)
	sl.RawKV("general.name", []byte("\x08\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7fabc"))
	m["bad-string-length"] = sl.Header(0)
	m["bad-array-count"] = w.New(3).KV("tokenizer.ggml.tokens", w.Array,
		w.ArrayValue{Type: w.String, Items: []any{"a"}, Len: w.U64(1 << 50)}).Header(0)
	// Arrays nested nine deep.
	var nested any = w.ArrayValue{Type: w.Uint8, Items: []any{1}}
	for range 9 {
		nested = w.ArrayValue{Type: w.Array, Items: []any{nested}}
	}
	m["bad-nesting"] = w.New(3).KV("test.deep", w.Array, nested).Header(0)
	return m
}
