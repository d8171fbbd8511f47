package hdf5

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type summary struct {
	Superblock, Header int
	Attrs              []string // name:class
	Skipped            []string
	Lambda             bool
}

func TestReadRootFixtures(t *testing.T) {
	keras := []string{"keras_version:%s", "backend:%s", "model_config:%s", "training_config:%s"}
	attrs := func(class string) []string {
		var out []string
		for _, k := range keras {
			out = append(out, strings.Replace(k, "%s", class, 1))
		}
		return out
	}
	tests := []struct {
		file string
		want summary
	}{
		{"keras2_fixed.h5", summary{0, 1, attrs("string"), nil, false}},
		{"keras2_vlen.h5", summary{0, 1, attrs("vlen-string"), nil, false}},
		{"keras2_lambda_fixed.h5", summary{0, 1, attrs("string"), nil, true}},
		{"keras2_lambda_vlen.h5", summary{0, 1, attrs("vlen-string"), nil, true}},
		{"keras2_latest.h5", summary{3, 2, attrs("vlen-string"), nil, false}},
		{"keras2_lambda_latest.h5", summary{3, 2, attrs("string"), nil, true}},
		{"keras2_v108.h5", summary{2, 2, attrs("vlen-string"), nil, false}},
		{"keras2_userblock.h5", summary{0, 1, attrs("string"), nil, false}},
		{"plain.h5", summary{0, 1, []string{"title:vlen-string", "count:integer"}, nil, false}},
		{"dense_attrs.h5", summary{3, 2, nil, []string{"dense attribute storage"}, false}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readFixture(t, tt.file)
			root, err := ReadRoot(bytes.NewReader(b), int64(len(b)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := summary{Superblock: root.SuperblockVersion, Header: root.HeaderVersion, Skipped: root.Skipped}
			for _, a := range root.Attributes {
				got.Attrs = append(got.Attrs, a.Name+":"+a.Class)
			}
			if mc, ok := root.Attr("model_config"); ok {
				if len(mc.Strings) != 1 || !json.Valid([]byte(mc.Strings[0])) {
					t.Fatalf("model_config is not one JSON string: %q", mc.Strings)
				}
				got.Lambda = strings.Contains(mc.Strings[0], `"Lambda"`)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotHDF5(t *testing.T) {
	for _, in := range []string{"", "hello", strings.Repeat("x", 4096)} {
		_, err := ReadRoot(strings.NewReader(in), int64(len(in)), Options{})
		if !errors.Is(err, ErrNotHDF5) {
			t.Errorf("ReadRoot(%.10q) = %v, want ErrNotHDF5", in, err)
		}
	}
}

// TestTruncated reads every prefix of a fixture: each must fail cleanly or
// succeed, never panic.
func TestTruncated(t *testing.T) {
	for _, name := range []string{"keras2_fixed.h5", "keras2_vlen.h5", "keras2_latest.h5"} {
		b := readFixture(t, name)
		var failed int
		for n := 0; n < len(b); n += 7 {
			_, err := ReadRoot(bytes.NewReader(b[:n]), int64(n), Options{})
			if err != nil {
				failed++
			}
		}
		if failed == 0 {
			t.Errorf("%s: no truncated prefix failed", name)
		}
	}
}

func TestLimits(t *testing.T) {
	b := readFixture(t, "keras2_vlen.h5")
	_, err := ReadRoot(bytes.NewReader(b), int64(len(b)), Options{MaxAttrBytes: 64})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("MaxAttrBytes 64: err = %v, want ErrLimit", err)
	}
	_, err = ReadRoot(bytes.NewReader(b), int64(len(b)), Options{MaxAttributes: 2})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("MaxAttributes 2: err = %v, want ErrLimit", err)
	}
}

// v0File builds a superblock v0 file whose root object header (v1) holds
// the given raw messages (type, data).
func v0File(msgs ...[]byte) []byte {
	var f bytes.Buffer
	f.WriteString(Signature)
	f.Write([]byte{0, 0, 0, 0, 0, 8, 8, 0, 4, 0, 16, 0, 0, 0, 0, 0})
	le := func(v uint64) { binary.Write(&f, binary.LittleEndian, v) }
	le(0)          // base
	le(^uint64(0)) // free space
	le(0)          // eof (unchecked)
	le(^uint64(0)) // driver
	le(0)          // link name offset
	le(96)         // root object header address
	f.Write(make([]byte, 96-f.Len()))
	var body bytes.Buffer
	for _, m := range msgs {
		body.Write(m)
	}
	f.Write([]byte{1, 0})
	binary.Write(&f, binary.LittleEndian, uint16(len(msgs)))
	binary.Write(&f, binary.LittleEndian, uint32(1))
	binary.Write(&f, binary.LittleEndian, uint32(body.Len()))
	f.Write(make([]byte, 4))
	f.Write(body.Bytes())
	return f.Bytes()
}

func v1Msg(typ uint16, data []byte) []byte {
	for len(data)%8 != 0 {
		data = append(data, 0)
	}
	var m bytes.Buffer
	binary.Write(&m, binary.LittleEndian, typ)
	binary.Write(&m, binary.LittleEndian, uint16(len(data)))
	m.Write([]byte{0, 0, 0, 0})
	m.Write(data)
	return m.Bytes()
}

func TestContinuationLoop(t *testing.T) {
	cont := make([]byte, 16)
	binary.LittleEndian.PutUint64(cont, 96+16) // the first block itself
	binary.LittleEndian.PutUint64(cont[8:], 24)
	b := v0File(v1Msg(msgContinuation, cont))
	_, err := ReadRoot(bytes.NewReader(b), int64(len(b)), Options{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "loop") {
		t.Errorf("err = %v, want continuation loop", err)
	}
}

func TestHostileAttribute(t *testing.T) {
	attr := func(count uint64, elem uint32, dtClass, bits byte) []byte {
		var a bytes.Buffer
		a.Write([]byte{1, 0})
		binary.Write(&a, binary.LittleEndian, uint16(2)) // name "x\0"
		binary.Write(&a, binary.LittleEndian, uint16(8))
		binary.Write(&a, binary.LittleEndian, uint16(16))
		a.Write([]byte{'x', 0, 0, 0, 0, 0, 0, 0})
		a.Write([]byte{dtClass, bits, 0, 0})
		binary.Write(&a, binary.LittleEndian, elem)
		a.Write([]byte{1, 1, 0, 0, 0, 0, 0, 0})
		binary.Write(&a, binary.LittleEndian, count)
		a.Write([]byte("abcd"))
		return a.Bytes()
	}
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"huge count", attr(1<<39, 1, 0x13, 0), ErrLimit},
		{"elements overrun data", attr(3, 1<<30, 0x13, 0), ErrFormat},
		{"vlen refs overrun data", attr(2, 16, 0x19, 1), ErrFormat},
	}
	for _, tt := range tests {
		b := v0File(v1Msg(msgAttribute, tt.msg))
		_, err := ReadRoot(bytes.NewReader(b), int64(len(b)), Options{})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// A well-formed fixed string attribute built by hand reads back.
	b := v0File(v1Msg(msgAttribute, attr(1, 4, 0x13, 0)))
	root, err := ReadRoot(bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"abcd"}, root.Attributes[0].Strings); diff != "" {
		t.Error(diff)
	}
}

func FuzzHDF5(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.h5")
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := ReadRoot(bytes.NewReader(b), int64(len(b)), Options{MaxAttrBytes: 1 << 20})
		if err == nil && root == nil {
			t.Fatal("nil root without error")
		}
	})
}
