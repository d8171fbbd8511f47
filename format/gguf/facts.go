package gguf

import (
	"math"
	"math/bits"
	"sort"
	"strings"
)

// Lookup returns the first metadata pair with key.
func (f *File) Lookup(key string) (KV, bool) {
	for _, kv := range f.KVs {
		if kv.Key == key {
			return kv, true
		}
	}
	return KV{}, false
}

// String returns the string value of key.
func (f *File) String(key string) (string, bool) {
	kv, ok := f.Lookup(key)
	if !ok {
		return "", false
	}
	s, ok := kv.Value.(string)
	return s, ok
}

// Uint returns the value of key when it is a non-negative integer of any
// width.
func (f *File) Uint(key string) (uint64, bool) {
	kv, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return toUint(kv.Value)
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Architecture returns general.architecture ("llama", "qwen2", ...).
func (f *File) Architecture() string {
	s, _ := f.String("general.architecture")
	return s
}

// ContextLength returns <architecture>.context_length.
func (f *File) ContextLength() (uint64, bool) {
	a := f.Architecture()
	if a == "" {
		return 0, false
	}
	return f.Uint(a + ".context_length")
}

// FileType returns general.file_type and its llama.cpp name (e.g.
// "MOSTLY_Q4_K_M"); the name is empty for unknown values.
func (f *File) FileType() (uint64, string, bool) {
	v, ok := f.Uint("general.file_type")
	if !ok {
		return 0, "", false
	}
	return v, fileTypes[v], true
}

// TensorTypes counts the tensors of each ggml type, by type name.
func (f *File) TensorTypes() map[string]int {
	m := map[string]int{}
	for _, t := range f.Tensors {
		m[t.Type.String()]++
	}
	return m
}

// ParamCount returns the total number of tensor elements, saturating at
// MaxUint64.
func (f *File) ParamCount() uint64 {
	var n uint64
	for _, t := range f.Tensors {
		s, c := bits.Add64(n, t.Elements, 0)
		if c != 0 {
			return math.MaxUint64
		}
		n = s
	}
	return n
}

// General returns every general.* metadata pair (name, author, license,
// general.base_model.N.*, general.dataset.N.*, ...) by key. Array values
// are *Array.
func (f *File) General() map[string]any {
	m := map[string]any{}
	for _, kv := range f.KVs {
		if strings.HasPrefix(kv.Key, "general.") {
			if _, dup := m[kv.Key]; !dup {
				m[kv.Key] = kv.Value
			}
		}
	}
	return m
}

// Template is a chat template stored in the metadata.
type Template struct {
	// Key is the metadata key, e.g. "tokenizer.chat_template" or
	// "tokenizer.chat_template.tool_use".
	Key string
	// Name is "default" for tokenizer.chat_template, else the key's suffix.
	Name   string
	Source string
	// Offset is where the metadata pair starts; SourceOffset where the
	// template's first byte is in the file.
	Offset       int64
	SourceOffset int64
}

// ChatTemplates returns every chat template in the metadata: the string
// values of tokenizer.chat_template, tokenizer.chat_template.<name> and
// tokenizer.chat_templates.<name>, in key order. Templates longer than
// MaxStringLen are not kept (Parse reports them).
func (f *File) ChatTemplates() []Template {
	var out []Template
	for _, kv := range f.KVs {
		s, ok := kv.Value.(string)
		if !ok {
			continue
		}
		var name string
		switch {
		case kv.Key == "tokenizer.chat_template":
			name = "default"
		case strings.HasPrefix(kv.Key, "tokenizer.chat_template."):
			name = strings.TrimPrefix(kv.Key, "tokenizer.chat_template.")
		case strings.HasPrefix(kv.Key, "tokenizer.chat_templates."):
			name = strings.TrimPrefix(kv.Key, "tokenizer.chat_templates.")
		default:
			continue
		}
		lenSize := int64(8)
		if f.Version == 1 {
			lenSize = 4
		}
		out = append(out, Template{Key: kv.Key, Name: name, Source: s, Offset: kv.Offset, SourceOffset: kv.ValueOffset + lenSize})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
