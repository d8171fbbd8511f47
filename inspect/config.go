package inspect

import (
	"encoding/json"

	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Config holds the facts of the Hugging Face configuration files:
// config.json, generation_config.json and tokenizer_config.json.
type Config struct {
	// Files are the configuration files read.
	Files               []string `json:"files"`
	ModelType           string   `json:"model_type,omitempty"`
	Architecture        string   `json:"architecture,omitempty"`
	TorchDType          string   `json:"torch_dtype,omitempty"`
	TransformersVersion string   `json:"transformers_version,omitempty"`
	ContextLength       uint64   `json:"context_length,omitempty"`
	Quantization        string   `json:"quantization,omitempty"`
	// AutoMap is set when config.json names custom modelling code
	// (loading needs trust_remote_code).
	AutoMap bool `json:"auto_map,omitempty"`
	// Hyperparameters are config.json's scalar architecture settings.
	Hyperparameters map[string]string `json:"hyperparameters,omitempty"`
	// Generation is generation_config.json's scalar settings.
	Generation map[string]string `json:"generation,omitempty"`
	// Tokenizer is tokenizer_config.json's tokenizer_class, else the kind
	// of tokenizer file present ("tokenizers" for tokenizer.json,
	// "sentencepiece" for tokenizer.model).
	Tokenizer      string         `json:"tokenizer,omitempty"`
	TokenizerFiles []string       `json:"tokenizer_files,omitempty"`
	ModelMaxLength uint64         `json:"model_max_length,omitempty"`
	ChatTemplates  []ChatTemplate `json:"chat_templates,omitempty"`
}

// hyperKeys are the config.json keys recorded as hyperparameters.
var hyperKeys = []string{
	"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
	"num_key_value_heads", "vocab_size", "max_position_embeddings", "n_positions",
	"n_ctx", "n_embd", "n_layer", "n_head", "d_model", "num_layers", "head_dim",
	"hidden_act", "rope_theta", "rms_norm_eps", "layer_norm_eps", "sliding_window",
	"num_experts", "num_local_experts", "num_experts_per_tok", "tie_word_embeddings",
	"torch_dtype", "image_size", "patch_size", "num_labels",
}

// contextKeys name the context length in config.json, first match wins.
var contextKeys = []string{"max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx", "max_sequence_length"}

// readRepoFiles reads the card and configuration files at the root.
func (r *Report) readRepoFiles(root string) {
	has := map[string]bool{}
	for _, f := range r.Files {
		has[f.Path] = true
	}
	if has["README.md"] {
		b, err := readSmall(filepath.Join(root, "README.md"))
		if err != nil {
			r.warn("README.md: %v", err)
		} else {
			card, err := ParseCard(b)
			if err != nil {
				r.warn("README.md: %v", err)
			}
			r.Card = card
		}
	} else {
		r.warn("no model card: README.md is missing")
	}
	c := &Config{}
	if has["config.json"] {
		c.readConfig(r, filepath.Join(root, "config.json"))
	}
	if has["generation_config.json"] {
		var m map[string]any
		if r.readJSON(filepath.Join(root, "generation_config.json"), "generation_config.json", &m) {
			c.Files = append(c.Files, "generation_config.json")
			c.Generation = scalars(m, nil)
		}
	}
	if has["tokenizer_config.json"] {
		c.readTokenizerConfig(r, filepath.Join(root, "tokenizer_config.json"))
	}
	for _, name := range []string{"tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "vocab.txt", "spiece.model", "special_tokens_map.json"} {
		if has[name] {
			c.TokenizerFiles = append(c.TokenizerFiles, name)
		}
	}
	if c.Tokenizer == "" {
		switch {
		case has["tokenizer.json"]:
			c.Tokenizer = "tokenizers"
		case has["tokenizer.model"] || has["spiece.model"]:
			c.Tokenizer = "sentencepiece"
		}
	}
	for _, f := range r.Files {
		if strings.HasSuffix(f.Path, ".safetensors.index.json") || strings.HasSuffix(f.Path, ".bin.index.json") {
			r.checkIndex(root, f.Path, has)
		}
	}
	if has["chat_template.jinja"] {
		if b, err := readSmall(filepath.Join(root, "chat_template.jinja")); err == nil {
			c.ChatTemplates = append(c.ChatTemplates, templateOf("default", "chat_template.jinja", string(b)))
		} else {
			r.warn("chat_template.jinja: %v", err)
		}
	}
	if len(c.Files) > 0 || c.Tokenizer != "" || len(c.ChatTemplates) > 0 {
		r.Config = c
	}
}

func (c *Config) readConfig(r *Report, path string) {
	var m map[string]any
	if !r.readJSON(path, "config.json", &m) {
		return
	}
	c.Files = append(c.Files, "config.json")
	c.ModelType, _ = m["model_type"].(string)
	if as, ok := m["architectures"].([]any); ok && len(as) > 0 {
		c.Architecture, _ = as[0].(string)
	}
	c.TorchDType, _ = m["torch_dtype"].(string)
	if c.TorchDType == "" {
		c.TorchDType, _ = m["dtype"].(string)
	}
	c.TransformersVersion, _ = m["transformers_version"].(string)
	for _, k := range contextKeys {
		if n, ok := m[k].(float64); ok && n > 0 {
			c.ContextLength = uint64(n)
			break
		}
	}
	if tc, ok := m["text_config"].(map[string]any); ok && c.ContextLength == 0 {
		if n, ok := tc["max_position_embeddings"].(float64); ok && n > 0 {
			c.ContextLength = uint64(n)
		}
	}
	if q, ok := m["quantization_config"].(map[string]any); ok {
		method, _ := q["quant_method"].(string)
		if method == "" {
			method = "quantized"
		}
		if b, ok := q["bits"].(float64); ok {
			method += " " + strconv.FormatFloat(b, 'g', -1, 64) + "-bit"
		} else if l, _ := q["load_in_4bit"].(bool); l {
			method += " 4-bit"
		} else if l, _ := q["load_in_8bit"].(bool); l {
			method += " 8-bit"
		}
		c.Quantization = method
	}
	_, c.AutoMap = m["auto_map"]
	c.Hyperparameters = scalars(m, hyperKeys)
}

func (c *Config) readTokenizerConfig(r *Report, path string) {
	var m map[string]any
	if !r.readJSON(path, "tokenizer_config.json", &m) {
		return
	}
	c.Files = append(c.Files, "tokenizer_config.json")
	c.Tokenizer, _ = m["tokenizer_class"].(string)
	if n, ok := m["model_max_length"].(float64); ok && n > 0 && n < 1e15 {
		c.ModelMaxLength = uint64(n)
	}
	switch t := m["chat_template"].(type) {
	case string:
		c.ChatTemplates = append(c.ChatTemplates, templateOf("default", "tokenizer_config.json", t))
	case []any:
		for _, it := range t {
			im, _ := it.(map[string]any)
			name, _ := im["name"].(string)
			src, ok := im["template"].(string)
			if ok {
				c.ChatTemplates = append(c.ChatTemplates, templateOf(name, "tokenizer_config.json", src))
			}
		}
	}
}

// checkIndex warns about shards a sharded-checkpoint index names but the
// repository lacks.
func (r *Report) checkIndex(root, name string, has map[string]bool) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if !r.readJSON(filepath.Join(root, filepath.FromSlash(name)), name, &idx) {
		return
	}
	dir := path.Dir(name)
	missing := map[string]bool{}
	for _, shard := range idx.WeightMap {
		p := path.Join(dir, shard)
		if !has[p] {
			missing[p] = true
		}
	}
	for _, p := range sortedKeys(missing) {
		r.warn("%s names shard %s, which is missing", name, p)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readJSON decodes a small JSON file into v, warning on failure.
func (r *Report) readJSON(path, name string, v any) bool {
	b, err := readSmall(path)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		r.warn("%s: %v", name, err)
		return false
	}
	return true
}

// scalars returns the string, number and bool values of m (only keys when
// keys is non-nil), formatted as text.
func scalars(m map[string]any, keys []string) map[string]string {
	out := map[string]string{}
	add := func(k string, v any) {
		switch x := v.(type) {
		case string:
			if len(x) <= 256 {
				out[k] = x
			}
		case float64:
			out[k] = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		}
	}
	if keys == nil {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			if len(out) >= 128 {
				break
			}
			add(k, m[k])
		}
	} else {
		for _, k := range keys {
			if v, ok := m[k]; ok {
				add(k, v)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// readSmall reads a file of at most MaxSmallFile bytes.
func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSmallFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSmallFile {
		return nil, fmt.Errorf("larger than %d bytes", MaxSmallFile)
	}
	return b, nil
}
