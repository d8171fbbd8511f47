package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
	"github.com/mlsecops/mlsec/format/internal/problem"
)

// build returns a safetensors file with the given header text and data.
func build(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func kinds(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Err.Error())
	}
	return out
}

func TestParseValid(t *testing.T) {
	hdr := `{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2,2],"data_offsets":[4,20]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`
	f, err := Parse(bytes.NewReader(build(hdr, make([]byte, 20))), int64(8+len(hdr)+20))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Problems) != 0 {
		t.Fatalf("problems in a valid file: %v", f.Problems)
	}
	want := []Tensor{
		{Name: "b", DType: "F32", Shape: []uint64{2, 2}, Begin: 4, End: 20},
		{Name: "a", DType: "BF16", Shape: []uint64{2}, Begin: 0, End: 4},
	}
	if diff := cmp.Diff(want, f.Tensors); diff != "" {
		t.Errorf("tensors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"format": "pt"}, f.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if f.Params != 6 {
		t.Errorf("params = %d, want 6", f.Params)
	}
	if diff := cmp.Diff([]string{"BF16", "F32"}, f.DTypes()); diff != "" {
		t.Errorf("dtypes (-want +got):\n%s", diff)
	}
}

func TestParseProblems(t *testing.T) {
	pkl := []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00")
	tests := []struct {
		name   string
		file   []byte
		want   []error
		detail string // substring of the first problem
	}{
		{"short", []byte("abc"), []error{ErrHeaderSize}, "fewer than"},
		{"len beyond file", append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0}, "{}"...), []error{ErrHeaderSize}, "exceeds the 2 bytes"},
		{"len over cap", append([]byte{0, 0, 0, 0x10, 0, 0, 0, 0}, "{}"...), []error{ErrHeaderSize}, "cap"},
		{"not json", build(`{"a":`, nil), []error{ErrJSON}, ""},
		{"not object", build(`[1, 2]`, nil), []error{ErrJSON, ErrSchema}, ""},
		{"trailing json", build(`{} {}`, nil), []error{ErrJSON}, "after the header"},
		{"duplicate tensor", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}),
			[]error{ErrDuplicate, ErrOffsets}, ""},
		{"duplicate field", build(`{"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), []error{ErrDuplicate}, "a.dtype"},
		{"unknown dtype", build(`{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), []error{ErrDType}, "Q4"},
		{"shape mismatch", build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), []error{ErrShape}, "needs 12 bytes"},
		{"shape overflow", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)), []error{ErrShape}, "overflows"},
		{"dtype overflow", build(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}`, make([]byte, 8)), []error{ErrShape}, "overflows"},
		{"sub-byte", build(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, make([]byte, 2)), []error{ErrShape}, "whole bytes"},
		{"negative dim", build(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, []byte{1}), []error{ErrSchema, ErrTrailing}, ""},
		{"float offset", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}}`, []byte{1}), []error{ErrSchema, ErrTrailing}, ""},
		{"three offsets", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, []byte{1}), []error{ErrSchema, ErrTrailing}, ""},
		{"missing field", build(`{"a":{"dtype":"U8","shape":[1]}}`, []byte{1}), []error{ErrSchema, ErrTrailing}, "needs"},
		{"extra field", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}`, []byte{1}), []error{ErrSchema}, `"x"`},
		{"reversed offsets", build(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, []byte{1}), []error{ErrOffsets, ErrTrailing}, "end before"},
		{"past end", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, []byte{1}), []error{ErrOffsets}, "run past"},
		{"overlap", build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, make([]byte, 3)), []error{ErrOffsets}, "overlap"},
		{"gap", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, make([]byte, 3)), []error{ErrOffsets}, "gap of 1"},
		{"trailing", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 5)), []error{ErrTrailing}, "4 bytes"},
		{"metadata not map", build(`{"__metadata__":[1],"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), []error{ErrMetadata}, ""},
		{"metadata value", build(`{"__metadata__":{"k":1,"ok":"v"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), []error{ErrMetadata}, "__metadata__.k"},
		{"trailing pickle", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, append([]byte{1}, pkl...)), []error{ErrTrailing, ErrPolyglot}, ""},
		{"data pickle", build(`{"a":{"dtype":"U8","shape":[11],"data_offsets":[0,11]}}`, pkl), []error{ErrPolyglot}, "data region"},
		{"trailing zip", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, append([]byte{1}, "PK\x03\x04"+strings.Repeat("\x00", 26)+"PK\x05\x06"+strings.Repeat("\x00", 18)...)), []error{ErrTrailing, ErrPolyglot, ErrPolyglot}, ""},
		{"deep json", build(`{"__metadata__":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, nil), []error{ErrJSON}, "nesting"},
		{"too many dims", build(`{"a":{"dtype":"U8","shape":[`+strings.TrimSuffix(strings.Repeat("1,", 65), ",")+`],"data_offsets":[0,1]}}`, []byte{1}), []error{ErrSchema, ErrTrailing}, "more than 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			var got []error
			for _, p := range f.Problems {
				got = append(got, p.Err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, f.Problems)
			}
			if tc.detail != "" && len(f.Problems) > 0 && !strings.Contains(f.Problems[0].Error(), tc.detail) {
				t.Errorf("first problem %q does not mention %q", f.Problems[0].Error(), tc.detail)
			}
			for _, p := range f.Problems {
				if !errors.Is(p, p.Err) {
					t.Errorf("errors.Is(problem, its sentinel) is false")
				}
			}
		})
	}
}

// A reader that fails must surface as an error, not a problem.
type failReader struct{}

func (failReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("boom") }

// Problem offsets point at the key involved.
func TestKeyOffset(t *testing.T) {
	hdr := `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]} ,  "a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`
	file := build(hdr, []byte{1})
	f, _ := Parse(bytes.NewReader(file), int64(len(file)))
	if len(f.Problems) == 0 || f.Problems[0].Err != ErrDuplicate {
		t.Fatalf("problems %v", f.Problems)
	}
	want := int64(8 + strings.LastIndex(hdr, `"a"`))
	if f.Problems[0].Offset != want {
		t.Errorf("offset %d, want %d", f.Problems[0].Offset, want)
	}
}

func TestParseReadError(t *testing.T) {
	if _, err := Parse(failReader{}, 100); err == nil {
		t.Fatal("Parse of a failing reader returned no error")
	}
}

// TestTestdata checks the generated fixtures: valid-*.safetensors are clean,
// every other file has at least one problem.
func TestTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.safetensors")
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata; run go generate")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		valid := strings.HasPrefix(filepath.Base(name), "valid")
		if valid != (len(f.Problems) == 0) {
			t.Errorf("%s: valid=%v but problems %v", name, valid, kinds(f.Problems))
		}
	}
}

func FuzzHeader(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.safetensors")
	f.Add(build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("in-memory parse returned an error: %v", err)
		}
		if len(file.Problems) > problem.Max+1 {
			t.Fatalf("%d problems exceed the cap", len(file.Problems))
		}
	})
}
