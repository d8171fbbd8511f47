package tflite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
)

func decodeFile(t *testing.T, p string) (*Model, error) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return Decode(bytes.NewReader(b), int64(len(b)))
}

func TestDecode(t *testing.T) {
	m, err := decodeFile(t, "testdata/custom.tflite")
	if err != nil {
		t.Fatal(err)
	}
	want := &Model{Version: 3, Subgraphs: 1, Buffers: 2, Operators: 4, Description: "mlsec testdata", OperatorCodes: []OperatorCode{
		{0, "", 1}, {32, "MyNativeOp", 1}, {32, "TFLite_Detection_PostProcess", 1}, {32, "FlexReadFile", 1}}}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	m, err = decodeFile(t, "testdata/clean.tflite")
	if err != nil {
		t.Fatal(err)
	}
	var custom int
	for _, oc := range m.OperatorCodes {
		if oc.IsCustom() {
			custom++
		}
	}
	if custom != 0 || m.OperatorCodes[3].Builtin != 150 {
		t.Errorf("clean: %d custom ops, codes %v", custom, m.OperatorCodes)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeBufferRange(t *testing.T) {
	if _, err := decodeFile(t, "testdata/buffer_range_ok.tflite"); err != nil {
		t.Error(err)
	}
}

func TestDetect(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.tflite")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		if k, _ := format.Detect(bytes.NewReader(b), int64(len(b))); k != format.TFLite {
			t.Errorf("%s detected as %s", p, k)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/custom.tflite")
	if err != nil {
		t.Fatal(err)
	}
	root := int(binary.LittleEndian.Uint32(good))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	put32 := func(b []byte, at int, v uint32) []byte { binary.LittleEndian.PutUint32(b[at:], v); return b }
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"short", good[:6], ErrMalformed},
		{"identifier", mut(func(b []byte) []byte { copy(b[4:], "TFL2"); return b }), ErrNotTFLite},
		{"root past end", mut(func(b []byte) []byte { return put32(b, 0, uint32(len(b)+4)) }), ErrMalformed},
		{"root misaligned", mut(func(b []byte) []byte { return put32(b, 0, uint32(root+1)) }), ErrMalformed},
		{"vtable out of file", mut(func(b []byte) []byte { return put32(b, root, 0x7fffffff) }), ErrMalformed},
		{"vtable negative", mut(func(b []byte) []byte { return put32(b, root, 0x80000000) }), ErrMalformed},
		{"vtable size odd", mut(func(b []byte) []byte {
			vt := root - int(int32(binary.LittleEndian.Uint32(b[root:])))
			b[vt] = 5
			return b
		}), ErrMalformed},
		{"field beyond table", mut(func(b []byte) []byte {
			vt := root - int(int32(binary.LittleEndian.Uint32(b[root:])))
			binary.LittleEndian.PutUint16(b[vt+6:], 200)
			return b
		}), ErrMalformed},
		{"vector length", mut(func(b []byte) []byte {
			slot := root + 8 // operator_codes ref
			vec := slot + int(binary.LittleEndian.Uint32(b[slot:]))
			return put32(b, vec, 0xffffffff)
		}), ErrMalformed},
		{"truncated", good[:len(good)-20], ErrMalformed},
		{"opcode index", mustRead(t, "testdata/bad_opcode_index.tflite"), ErrMalformed},
		{"buffer range", mustRead(t, "testdata/bad_buffer.tflite"), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(bytes.NewReader(tc.data), int64(len(tc.data))); !errors.Is(err, tc.want) {
				t.Errorf("Decode error = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzTFLite(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.tflite")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotTFLite) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(m.OperatorCodes) > MaxOperatorCodes {
			t.Fatalf("%d operator codes", len(m.OperatorCodes))
		}
	})
}
