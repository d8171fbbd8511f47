package gguf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	w "github.com/mlsecops/mlsec/format/gguf/internal/ggufwrite"
	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
	"github.com/mlsecops/mlsec/format/internal/problem"
)

func parseFile(t testing.TB, name string) *File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFixtures(t *testing.T) {
	want := map[string][]error{
		"valid-v1.gguf":             nil,
		"valid-v2.gguf":             nil,
		"valid-v3.gguf":             nil,
		"valid-big-endian.gguf":     nil,
		"valid-no-tensors.gguf":     nil,
		"template-exploit.gguf":     nil,
		"template-named.gguf":       nil,
		"bad-version.gguf":          {ErrVersion},
		"bad-truncated.gguf":        {ErrTruncated},
		"bad-duplicate-key.gguf":    {ErrDuplicate},
		"bad-alignment.gguf":        {ErrAlignment},
		"bad-value-type.gguf":       {ErrValueType},
		"bad-bool.gguf":             {ErrValue},
		"bad-dims.gguf":             {ErrDims},
		"bad-tensor-type.gguf":      {ErrTensorType},
		"bad-block.gguf":            {ErrDims},
		"bad-offset-align.gguf":     {ErrOffset},
		"bad-offset-range.gguf":     {ErrOffset},
		"bad-overlap.gguf":          {ErrOffset},
		"bad-duplicate-tensor.gguf": {ErrDuplicate},
		"bad-kv-count.gguf":         {ErrCount},
		"bad-tensor-count.gguf":     {ErrCount},
		"bad-string-length.gguf":    {ErrLength},
		"bad-array-count.gguf":      {ErrCount},
		"bad-nesting.gguf":          {ErrCount},
	}
	files, _ := filepath.Glob("testdata/*.gguf")
	if len(files) != len(want) {
		t.Errorf("%d fixtures in testdata, %d in the table; run go generate", len(files), len(want))
	}
	for name, errs := range want {
		t.Run(name, func(t *testing.T) {
			f := parseFile(t, name)
			var got []error
			for _, p := range f.Problems {
				got = append(got, p.Err)
				if !errors.Is(p, p.Err) {
					t.Errorf("errors.Is(problem, sentinel) is false")
				}
			}
			if diff := cmp.Diff(errs, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, f.Problems)
			}
		})
	}
}

func TestFacts(t *testing.T) {
	for _, name := range []string{"valid-v1.gguf", "valid-v2.gguf", "valid-v3.gguf", "valid-big-endian.gguf"} {
		t.Run(name, func(t *testing.T) {
			f := parseFile(t, name)
			if !f.Complete {
				t.Fatal("not complete")
			}
			ctx, _ := f.ContextLength()
			ft, ftName, _ := f.FileType()
			type facts struct {
				Arch      string
				Ctx       uint64
				FileType  uint64
				FTName    string
				Tensors   int
				Params    uint64
				Types     map[string]int
				Base      any
				Dataset   any
				Templates int
				DataStart int64
				Nested    any
				Scalars   []any
			}
			var scalars []any
			for _, k := range []string{"u8", "i8", "u16", "i16", "i32", "u64", "i64", "f64"} {
				kv, _ := f.Lookup("test.scalars." + k)
				scalars = append(scalars, kv.Value)
			}
			nested, _ := f.Lookup("test.nested")
			g := f.General()
			got := facts{f.Architecture(), ctx, ft, ftName, len(f.Tensors), f.ParamCount(), f.TensorTypes(),
				g["general.base_model.0.name"], g["general.dataset.0.name"], len(f.ChatTemplates()), f.DataStart, nested.Value, scalars}
			want := facts{"llama", 4096, 15, "MOSTLY_Q4_K_M", 3, 32 + 64 + 64, map[string]int{"F32": 1, "Q4_0": 1, "Q8_0": 1},
				"Base Model", "example-data", 1, f.InfoEnd + (32-f.InfoEnd%32)%32,
				&Array{Type: TypeArray, Len: 2, Items: []any{
					&Array{Type: TypeInt32, Len: 2, Items: []any{int32(1), int32(2)}},
					&Array{Type: TypeInt32, Len: 1, Items: []any{int32(3)}},
				}},
				[]any{uint8(1), int8(2), uint16(3), int16(4), int32(5), uint64(6), int64(7), 8.5},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			if f.DataStart%32 != 0 {
				t.Errorf("data start %d not aligned", f.DataStart)
			}
		})
	}
}

func TestChatTemplates(t *testing.T) {
	f := parseFile(t, "template-named.gguf")
	var got []string
	for _, tp := range f.ChatTemplates() {
		got = append(got, tp.Key+"="+tp.Name)
	}
	want := []string{"tokenizer.chat_template=default", "tokenizer.chat_template.tool_use=tool_use"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	for _, name := range []string{"template-named.gguf", "valid-v1.gguf", "valid-big-endian.gguf"} {
		data, _ := os.ReadFile(filepath.Join("testdata", name))
		for _, tp := range parseFile(t, name).ChatTemplates() {
			if end := tp.SourceOffset + int64(len(tp.Source)); end > int64(len(data)) || string(data[tp.SourceOffset:end]) != tp.Source {
				t.Errorf("%s %s: SourceOffset %d does not point at the template", name, tp.Key, tp.SourceOffset)
			}
		}
	}
}

// Large but plausible arrays are read through, keeping only MaxArrayKeep
// items, and the parse still reaches the tensor infos.
func TestLargeArray(t *testing.T) {
	items := make([]any, 5000)
	for i := range items {
		items[i] = strings.Repeat("t", i%7)
	}
	b := w.New(3).KV("tokenizer.ggml.tokens", w.Array, w.ArrayValue{Type: w.String, Items: items}).
		KV("after", w.Uint32, 9).Tensor("t", []uint64{8}, 0, 0)
	data := append(b.Header(32), make([]byte, 32)...)
	f, err := Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(f.Problems) != 0 || !f.Complete {
		t.Fatalf("err %v problems %v complete %v", err, f.Problems, f.Complete)
	}
	kv, _ := f.Lookup("tokenizer.ggml.tokens")
	a := kv.Value.(*Array)
	if a.Len != 5000 || len(a.Items) != MaxArrayKeep {
		t.Errorf("array len %d items %d", a.Len, len(a.Items))
	}
	if v, _ := f.Uint("after"); v != 9 {
		t.Errorf("after = %d", v)
	}
}

// Deeply nested arrays keep items only at the first two levels.
func TestNestedKeep(t *testing.T) {
	var v any = w.ArrayValue{Type: w.Uint8, Items: []any{7}}
	for range 3 {
		v = w.ArrayValue{Type: w.Array, Items: []any{v}}
	}
	data := w.New(3).KV("deep", w.Array, v).Header(0)
	f, err := Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(f.Problems) != 0 {
		t.Fatal(err, f.Problems)
	}
	a := f.KVs[0].Value.(*Array)
	b := a.Items[0].(*Array)
	c := b.Items[0].(*Array)
	if c.Len != 1 || len(c.Items) != 0 {
		t.Errorf("third level kept %d items", len(c.Items))
	}
}

func TestNotGGUF(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("GGU"), []byte("GGML\x03\x00\x00\x00")} {
		f, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil || len(f.Problems) != 1 || f.Complete {
			t.Errorf("%q: err %v problems %v", data, err, f.Problems)
		}
	}
}

func FuzzGGUF(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.gguf")
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("in-memory parse returned an error: %v", err)
		}
		if len(file.Problems) > problem.Max+1 {
			t.Fatalf("%d problems", len(file.Problems))
		}
		file.ChatTemplates()
		file.General()
		file.ParamCount()
	})
}
