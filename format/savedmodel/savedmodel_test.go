package savedmodel

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
	pb "github.com/mlsecops/mlsec/format/savedmodel/tfpb"
)

type site struct{ Where, Node, Op string }

func TestWalk(t *testing.T) {
	sm, err := DecodeFile("testdata/pyfunc", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []site
	Walk(sm, func(s Site, n *pb.NodeDef) {
		if n.GetOp() == "PyFunc" || n.GetOp() == "EagerPyFunc" {
			got = append(got, site{s.String(), n.GetName(), n.GetOp()})
		}
	})
	want := []site{
		{"top-level graph of meta graph 0 [serve]", "py", "PyFunc"},
		{`function "__inference_call_77" of meta graph 0 [serve]`, "eager", "EagerPyFunc"},
		{`function "__inference_call_77" of meta graph 0 [serve]`, "eager_2", "EagerPyFunc"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestStringAttrs(t *testing.T) {
	sm, err := DecodeFile("testdata/debug", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []Attr
	Walk(sm, func(_ Site, n *pb.NodeDef) {
		if n.GetOp() == "DebugIdentity" {
			got = StringAttrs(n)
		}
	})
	if d := cmp.Diff([]Attr{{"debug_urls", "grpc://attacker:6064"}}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestDetectFixtures(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/" + FileName)
	if len(dirs) == 0 {
		t.Fatal("no fixtures")
	}
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := format.Detect(bytes.NewReader(b), int64(len(b))); k != format.SavedModel {
			t.Errorf("%s detected as %s", p, k)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/normal/" + FileName)
	if err != nil {
		t.Fatal(err)
	}
	v := &pb.AttrValue{Value: &pb.AttrValue_S{S: []byte("leaf")}}
	for i := 0; i < 200; i++ { // AttrValue.func -> NameAttrList.attr -> AttrValue ...
		v = &pb.AttrValue{Value: &pb.AttrValue_Func{Func: &pb.NameAttrList{Name: "f", Attr: map[string]*pb.AttrValue{"a": v}}}}
	}
	deep, err := proto.Marshal(&pb.SavedModel{MetaGraphs: []*pb.MetaGraphDef{{GraphDef: &pb.GraphDef{
		Node: []*pb.NodeDef{{Name: "n", Op: "Identity", Attr: map[string]*pb.AttrValue{"x": v}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		size int64
		max  int64
		want error
	}{
		{"truncated", good[:len(good)-4], 0, 0, ErrMalformed},
		{"garbage", []byte{0x12, 0xff, 0xff, 0xff, 0xff, 0x0f}, 0, 0, ErrMalformed},
		{"cap", good, 0, 100, ErrTooLarge},
		{"over 2GiB", good, 3 << 30, 4 << 30, ErrTooLarge},
		{"deep", deep, 0, 0, ErrMalformed},
		{"short read", good, int64(len(good)) + 10, 0, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.size
			if size == 0 {
				size = int64(len(tc.data))
			}
			if _, err := Decode(bytes.NewReader(tc.data), size, tc.max); !errors.Is(err, tc.want) {
				t.Errorf("Decode error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestConstantsSkipped decodes a graph holding a 4 MiB constant with a
// 64 KiB structure cap: tensor values are skipped, not read.
func TestConstantsSkipped(t *testing.T) {
	msg := func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	field := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	attr := msg(field(8, make([]byte, 4<<20))) // AttrValue.tensor
	node := msg(field(1, []byte("big")), field(2, []byte("Const")), field(5, msg(field(1, []byte("value")), field(2, attr))))
	sm := msg(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1),
		field(2, field(2, field(1, node))))
	got, err := Decode(bytes.NewReader(sm), int64(len(sm)), 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	nodes := got.GetMetaGraphs()[0].GetGraphDef().GetNode()
	if len(nodes) != 1 || nodes[0].GetOp() != "Const" || nodes[0].GetAttr()["value"] == nil {
		t.Errorf("nodes = %v", nodes)
	}
}

func FuzzSavedModel(f *testing.F) {
	fuzzseed.Files(f, "testdata/*/"+FileName)
	f.Fuzz(func(t *testing.T, b []byte) {
		sm, err := Decode(bytes.NewReader(b), int64(len(b)), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		Walk(sm, func(_ Site, n *pb.NodeDef) { StringAttrs(n) })
	})
}
