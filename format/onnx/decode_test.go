package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
	pb "github.com/mlsecops/mlsec/format/onnx/onnxpb"
	"github.com/mlsecops/mlsec/format/onnx/onnxtest"
)

func decodeFile(t testing.TB, p string) (*Model, error) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return Decode(bytes.NewReader(b), int64(len(b)), Options{})
}

type site struct{ Scope, Op string }

func sites(t *testing.T, m *pb.ModelProto) ([]site, error) {
	t.Helper()
	var got []site
	err := Walk(m, 0, Visitor{Node: func(scope string, n *pb.NodeProto) {
		got = append(got, site{scope, FunctionKey(n.GetDomain(), n.GetOpType())})
	}})
	return got, err
}

func TestDecodeSkipsTensorPayload(t *testing.T) {
	m, err := decodeFile(t, "testdata/clean.onnx")
	if err != nil {
		t.Fatal(err)
	}
	init := m.Proto.GetGraph().GetInitializer()
	if len(init) != 1 || init[0].GetName() != "w" || len(init[0].GetRawData()) != 0 || !cmp.Equal(init[0].GetDims(), []int64{1024}) {
		t.Errorf("initializer = %v, want w[1024] without raw_data", init)
	}
	if want := int64(protowire.SizeTag(9) + protowire.SizeBytes(4096)); m.SkippedBytes != want {
		t.Errorf("SkippedBytes = %d, want %d", m.SkippedBytes, want)
	}
	if m.StructureBytes >= 4096 {
		t.Errorf("StructureBytes = %d, want far below the 4096 payload", m.StructureBytes)
	}
}

func TestWalkNested(t *testing.T) {
	m, err := decodeFile(t, "testdata/nested.onnx")
	if err != nil {
		t.Fatal(err)
	}
	got, err := sites(t, m.Proto)
	if err != nil {
		t.Fatal(err)
	}
	want := []site{
		{"graph main", ":If"},
		{"graph main/node if.then_branch", ":Relu"},
		{"graph main/node if.else_branch", ":Loop"},
		{"graph main/node if.else_branch/node loop.body", ":Scan"},
		{"graph main/node if.else_branch/node loop.body/node scan.body", "evil.ops:Deep"},
		{"graph main", ":SequenceMap"},
		{"graph main/node seq.bodies[0]", "com.microsoft:QAttention"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("sites (-want +got):\n%s", d)
	}
}

func TestWalkFunctions(t *testing.T) {
	m, err := decodeFile(t, "testdata/function_custom.onnx")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := sites(t, m.Proto)
	want := []site{{"graph main", "my.funcs:F"}, {"function my.funcs:F", "vendor.native:Hook"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("sites (-want +got):\n%s", d)
	}
}

func TestWalkDepthCap(t *testing.T) {
	if _, err := decodeFile(t, "testdata/deep.onnx"); !errors.Is(err, ErrTooDeep) {
		t.Errorf("Decode error = %v, want ErrTooDeep", err)
	}
	b, err := os.ReadFile("testdata/deep.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(bytes.NewReader(b), int64(len(b)), Options{MaxDepth: 2 * DefaultMaxDepth})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sites(t, m.Proto); !errors.Is(err, ErrTooDeep) {
		t.Errorf("Walk error = %v, want ErrTooDeep", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/nested.onnx")
	if err != nil {
		t.Fatal(err)
	}
	deepMsg := []byte{}
	for i := 0; i < 200; i++ { // graph{node{attr{g{...}}}} nested 200 times
		deepMsg = protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType), deepMsg)
		deepMsg = protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), deepMsg)
		deepMsg = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), deepMsg)
	}
	deepModel := protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), deepMsg)
	tests := []struct {
		name string
		data []byte
		size int64 // 0: len(data)
		opt  Options
		want error
	}{
		{"truncated", good[:len(good)-3], 0, Options{}, ErrMalformed},
		{"bad varint", []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, Options{}, ErrMalformed},
		{"field zero", []byte{0x00, 0x01}, 0, Options{}, ErrMalformed},
		{"group", []byte{0x0b, 0x0c}, 0, Options{}, ErrMalformed},
		{"length past end", []byte{0x3a, 0x7f, 0x00}, 0, Options{}, ErrMalformed},
		{"over 2GiB", []byte{0x08, 0x01}, 3 << 30, Options{}, ErrTooLarge},
		{"structure cap", good, 0, Options{MaxStructureBytes: 64}, ErrTooLarge},
		{"message depth", deepModel, 0, Options{}, ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.size
			if size == 0 {
				size = int64(len(tc.data))
			}
			_, err := Decode(bytes.NewReader(tc.data), size, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Errorf("Decode error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDecodeLargeFieldWindow checks reads that straddle the buffered window.
func TestDecodeLargeFieldWindow(t *testing.T) {
	big := &pb.TensorProto{Name: proto.String("big"), RawData: make([]byte, 3*(256<<10)+7)}
	doc := strings.Repeat("d", (256<<10)+11)
	m := model(withInit(graph("main", node("relu", "", "Relu")), big, big))
	m.DocString = proto.String(doc)
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(b), int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Proto.GetDocString() != doc || len(got.Proto.GetGraph().GetInitializer()) != 2 || got.SkippedBytes != 2*int64(protowire.SizeTag(9)+protowire.SizeBytes(3*(256<<10)+7)) {
		t.Errorf("decoded doc %d bytes, %d initializers, skipped %d", len(got.Proto.GetDocString()), len(got.Proto.GetGraph().GetInitializer()), got.SkippedBytes)
	}
}

// TestDetect checks that format.Detect recognises every fixture by content,
// including an IR version 1 model, whose leading bytes (08 01 12) are also
// those of a SavedModel.
func TestDetect(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.onnx")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if k, err := format.Detect(bytes.NewReader(b), int64(len(b))); k != format.ONNX || err != nil {
			t.Errorf("%s: detected %s, %v", p, k, err)
		}
	}
}

func TestExternal(t *testing.T) {
	tests := []struct {
		name string
		t    *pb.TensorProto
		want ExternalData
		ok   bool
	}{
		{"inline", &pb.TensorProto{RawData: []byte{1}}, ExternalData{}, false},
		{"full", external("w", "location", "a.bin", "offset", "8", "length", "16", "checksum", "x"), ExternalData{Location: "a.bin", Offset: 8, Length: 16}, true},
		{"bare", external("w", "location", "a.bin"), ExternalData{Location: "a.bin", Offset: -1, Length: -1}, true},
		{"bad", external("w", "offset", "-3", "length", "x", "location", "a", "location", "b"), ExternalData{Location: "b", Offset: -1, Length: -1,
			Problems: []string{`offset "-3" is not a non-negative integer`, `length "x" is not a non-negative integer`, `duplicate key "location"`}}, true},
		{"no location", external("w"), ExternalData{Offset: -1, Length: -1, Problems: []string{"no location"}}, true},
	}
	for _, tc := range tests {
		got, ok := External(tc.t)
		if ok != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("%s: External = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDebianModels(t *testing.T) {
	for _, p := range onnxtest.DebianModels(t) {
		m, err := decodeFile(t, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		var nodes int
		if err := Walk(m.Proto, 0, Visitor{Node: func(string, *pb.NodeProto) { nodes++ }}); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if nodes == 0 && m.Proto.GetGraph() == nil {
			t.Errorf("%s: no graph", p)
		}
	}
}

func BenchmarkDebianModels(b *testing.B) {
	files := onnxtest.DebianModels(b)
	for b.Loop() {
		for _, p := range files {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			fi, _ := f.Stat()
			if _, err := Decode(f, fi.Size(), Options{}); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
}

func FuzzONNX(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.onnx")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(bytes.NewReader(b), int64(len(b)), Options{MaxStructureBytes: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		Walk(m.Proto, 0, Visitor{Node: func(string, *pb.NodeProto) {}, Tensor: func(_ string, t *pb.TensorProto) { External(t) }})
	})
}
