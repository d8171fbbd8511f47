package numpy_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
	"github.com/mlsecops/mlsec/format/numpy"
)

// npy builds a version 1.0 file around a header literal.
func npy(header string, data []byte) []byte {
	b := []byte(numpy.Magic + "\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	return append(append(b, header...), data...)
}

type summary struct {
	Major        int
	Descr        string
	Object       bool
	FortranOrder bool
	Shape        []int64
	DataOffset   int64
	DataSize     int64
}

func sum(h *numpy.Header) summary {
	return summary{h.Major, h.Descr, h.Object, h.FortranOrder, h.Shape, h.DataOffset, h.DataSize()}
}

func TestFixtures(t *testing.T) {
	want := map[string]summary{
		"float64.npy":    {1, "<f8", false, false, []int64{3, 4}, 128, 96},
		"fortran.npy":    {1, ">i4", false, true, []int64{2, 3}, 128, 24},
		"bool.npy":       {1, "|b1", false, false, []int64{2}, 128, 2},
		"unicode.npy":    {1, "<U3", false, false, []int64{2}, 128, 24},
		"structured.npy": {1, "[('x', '<f4'), ('y', '<i2', (2,))]", false, false, []int64{2}, 128, -1},
		"scalar.npy":     {1, "<f4", false, false, nil, 128, 4},
		"object.npy":     {1, "|O", true, false, []int64{3}, 128, -1},
		"v2.npy":         {2, "<u2", false, false, []int64{5}, 128, 10},
		"v3.npy":         {3, "[('é', '<f4')]", false, false, []int64{2}, 128, -1},
	}
	got := map[string]summary{}
	files, _ := filepath.Glob("testdata/*.npy")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h, err := numpy.ReadHeader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		got[filepath.Base(p)] = sum(h)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name, header string
		want         error
		object       bool
	}{
		{"object", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", nil, true},
		{"object field", "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (2,)}", nil, true},
		{"nested object field", "{'descr': [('a', [('b', 'O')])], 'fortran_order': False, 'shape': ()}", nil, true},
		{"double quotes", `{"descr": "<f4", "fortran_order": True, "shape": (1, 2)}`, nil, false},
		{"missing key", "{'descr': '<f4', 'shape': ()}", numpy.ErrHeader, false},
		{"extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", numpy.ErrHeader, false},
		{"duplicate key", "{'descr': '<f4', 'descr': '|O', 'fortran_order': False, 'shape': ()}", numpy.ErrHeader, false},
		{"call", "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': ()}", numpy.ErrHeader, false},
		{"negative dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", numpy.ErrHeader, false},
		{"bad order", "{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", numpy.ErrHeader, false},
		{"unknown dtype", "{'descr': '<z4', 'fortran_order': False, 'shape': ()}", numpy.ErrHeader, false},
		{"not dict", "[1, 2]", numpy.ErrHeader, false},
		{"unterminated", "{'descr': '<f4", numpy.ErrHeader, false},
		{"trailing", "{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", numpy.ErrHeader, false},
		{"deep", "{'descr': " + string(bytes.Repeat([]byte("("), 100)), numpy.ErrHeader, false},
		{"overflow", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", numpy.ErrHeader, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := npy(tt.header, nil)
			h, err := numpy.ReadHeader(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && h.Object != tt.object {
				t.Errorf("Object = %v, want %v", h.Object, tt.object)
			}
		})
	}
}

func TestPreamble(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, numpy.ErrMagic},
		{"magic only", []byte(numpy.Magic), numpy.ErrMagic},
		{"version 4", []byte(numpy.Magic + "\x04\x00\x00\x00\x00\x00"), numpy.ErrVersion},
		{"minor", []byte(numpy.Magic + "\x01\x01\x00\x00"), numpy.ErrVersion},
		{"length beyond file", []byte(numpy.Magic + "\x01\x00\xff\x00{}"), numpy.ErrHeader},
		{"huge v2", []byte(numpy.Magic + "\x02\x00\xff\xff\xff\x7f"), numpy.ErrTooBig},
		{"non-ascii v1", npy("{'descr': 'é', 'fortran_order': False, 'shape': ()}", nil), numpy.ErrHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := numpy.ReadHeader(bytes.NewReader(tt.in), int64(len(tt.in)))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzHeader(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.npy")
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := numpy.ReadHeader(bytes.NewReader(b), int64(len(b)))
		if err == nil && (h.DataOffset > int64(len(b)) || h.DataOffset < 10) {
			t.Fatalf("DataOffset %d outside the input of %d bytes", h.DataOffset, len(b))
		}
	})
}

// TestDescrObject: every descr numpy maps to an object dtype (checked with
// numpy 1.24: np.dtype(descr).hasobject) is an object dtype here; plain
// ones are not; spellings this package cannot place are ErrDtype.
func TestDescrObject(t *testing.T) {
	object := []string{"'O'", "'|O'", "'<O'", "'=O'", "'O8'", "'O4'", "'object'", "'object_'",
		"'object0'", "'(2,)O'", "'(2,3)|O8'", "'2O'", "'1O'", "'i4,O'", "'O,i4'", "'i4, O'",
		"'|O,'", "'i8,object'", "'i4,(2,)O'", "'(2,)object'", "('O', (2,))",
		"[('a', ('O', (1,)))]", "[(('title', 'a'), 'O')]", "[('a', [('b', 'O')])]"}
	plain := []string{"'<f8'", "'|u1'", "'V8'", "'a5'", "'S0'", "'<U0'", "'p'", "'int'", "'float'",
		"'str'", "'bytes'", "'bool'", "'datetime64[ns]'", "'<M8[ns]'", "'m8'", "'float64'",
		"'complex'", "'void'", "'i4,f8'", "('<f4', (3,))", "[('a', '<i4')]"}
	unknown := []string{"'x'", "'float8_e4m3'", "'i4;O'"}
	hdr := func(descr string) []byte {
		return []byte("{'descr': " + descr + ", 'fortran_order': False, 'shape': (1,), }")
	}
	for _, d := range object {
		h, err := numpy.ParseHeader(hdr(d))
		if err != nil || !h.Object {
			t.Errorf("%s: object=%v err=%v, want object", d, h != nil && h.Object, err)
		}
	}
	for _, d := range plain {
		h, err := numpy.ParseHeader(hdr(d))
		if err != nil || h.Object {
			t.Errorf("%s: object=%v err=%v, want plain", d, h != nil && h.Object, err)
		}
	}
	for _, d := range unknown {
		if _, err := numpy.ParseHeader(hdr(d)); !errors.Is(err, numpy.ErrDtype) {
			t.Errorf("%s: err=%v, want ErrDtype", d, err)
		}
	}
}
