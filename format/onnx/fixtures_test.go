package onnx

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mlsecops/mlsec/format/onnx/onnxpb"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
)

var update = flag.Bool("update", false, "rewrite testdata fixtures")

// The fixture builders below are the checked-in generator of testdata/*.onnx;
// run `go test ./format/onnx -run TestFixtures -update` to rewrite them.

func model(g *pb.GraphProto, fns ...*pb.FunctionProto) *pb.ModelProto {
	return &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("mlsec-testdata"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(16)}},
		Graph:        g,
		Functions:    fns,
	}
}

func graph(name string, nodes ...*pb.NodeProto) *pb.GraphProto {
	return &pb.GraphProto{Name: proto.String(name), Node: nodes}
}

func node(name, domain, op string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{Name: proto.String(name), Domain: proto.String(domain), OpType: proto.String(op),
		Input: []string{"x"}, Output: []string{name + "_out"}, Attribute: attrs}
}

func graphAttr(name string, g *pb.GraphProto) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_GRAPH.Enum(), G: g}
}

func external(name string, kv ...string) *pb.TensorProto {
	t := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(1), Dims: []int64{4},
		DataLocation: pb.TensorProto_EXTERNAL.Enum()}
	for i := 0; i+1 < len(kv); i += 2 {
		t.ExternalData = append(t.ExternalData, &pb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return t
}

func withInit(g *pb.GraphProto, ts ...*pb.TensorProto) *pb.GraphProto {
	g.Initializer = append(g.Initializer, ts...)
	return g
}

// nestedIfs nests n If nodes, each in the then_branch of the previous one.
func nestedIfs(n int) *pb.GraphProto {
	g := graph("leaf", node("relu", "", "Relu"))
	for i := n; i > 0; i-- {
		g = graph(fmt.Sprintf("g%d", i), node(fmt.Sprintf("if%d", i), "", "If", graphAttr("then_branch", g), graphAttr("else_branch", graph("e", node("id", "", "Identity")))))
	}
	return g
}

// fixtures returns the generated models by file name.
func fixtures() map[string]*pb.ModelProto {
	weights := make([]byte, 4096)
	for i := range weights {
		weights[i] = byte(i)
	}
	inline := &pb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{1024}, RawData: weights}
	ir1 := model(graph("main", node("relu", "", "Relu")))
	ir1.IrVersion = proto.Int64(1)
	return map[string]*pb.ModelProto{
		"ir1.onnx":            ir1,
		"clean.onnx":          model(withInit(graph("main", node("relu", "", "Relu"), node("mlp", "ai.onnx.ml", "Normalizer"), node("mm", "ai.onnx", "MatMul")), inline)),
		"custom_domain.onnx":  model(graph("main", node("relu", "", "Relu"), node("bd1", "evil.ops", "Backdoor"), node("bd2", "evil.ops", "Backdoor"))),
		"runtime_domain.onnx": model(graph("main", node("fmm", "com.microsoft", "FusedMatMul"), node("aten", "org.pytorch.aten", "ATen"))),
		"python_op.onnx": model(graph("main", node("fmm", "com.microsoft", "FusedMatMul"), node("py", "com.microsoft", "PythonOp"),
			node("pyx", "ai.onnx.contrib", "PyOp"), node("pyv", "vendor.py", "PythonOp"))),
		"local_function.onnx": model(graph("main", node("gelu", "my.funcs", "Gelu")),
			&pb.FunctionProto{Name: proto.String("Gelu"), Domain: proto.String("my.funcs"), Node: []*pb.NodeProto{node("tanh", "", "Tanh")}}),
		"function_custom.onnx": model(graph("main", node("f", "my.funcs", "F")),
			&pb.FunctionProto{Name: proto.String("F"), Domain: proto.String("my.funcs"), Node: []*pb.NodeProto{node("hook", "vendor.native", "Hook")}}),
		"nested.onnx": model(graph("main",
			node("if", "", "If",
				graphAttr("then_branch", graph("then", node("relu", "", "Relu"))),
				graphAttr("else_branch", graph("else",
					node("loop", "", "Loop", graphAttr("body", graph("body",
						node("scan", "", "Scan", graphAttr("body", graph("scanbody", node("evil", "evil.ops", "Deep"))))))),
				))),
			node("seq", "", "SequenceMap", &pb.AttributeProto{Name: proto.String("bodies"), Type: pb.AttributeProto_GRAPHS.Enum(),
				Graphs: []*pb.GraphProto{graph("b0", node("q", "com.microsoft", "QAttention"))}}),
		)),
		"deep.onnx":             model(nestedIfs(DefaultMaxDepth + 4)),
		"external_abs.onnx":     model(withInit(graph("main", node("relu", "", "Relu")), external("w", "location", "/etc/passwd"))),
		"external_dotdot.onnx":  model(withInit(graph("main", node("relu", "", "Relu")), external("w", "location", "../../../../home/user/.ssh/id_rsa", "length", "16"))),
		"external_windows.onnx": model(withInit(graph("main", node("relu", "", "Relu")), external("w", "location", `C:\Windows\win.ini`))),
		"external_ok.onnx": model(withInit(graph("main", node("relu", "", "Relu")),
			external("w0", "location", "external_ok.bin", "offset", "0", "length", "16"),
			external("w1", "location", "external_ok.bin", "offset", "16", "length", "16"))),
		"external_range.onnx": model(withInit(graph("main", node("relu", "", "Relu")),
			external("w0", "location", "external_ok.bin", "offset", "24", "length", "16"),
			external("w1", "location", "external_ok.bin", "offset", "4096"),
			external("w2", "location", "external_ok.bin", "offset", "-1"))),
		"external_missing.onnx": model(withInit(graph("main", node("relu", "", "Relu")), external("w", "location", "missing.bin"))),
		"external_attr.onnx": model(graph("main", node("c", "", "Constant", &pb.AttributeProto{Name: proto.String("value"),
			Type: pb.AttributeProto_TENSOR.Enum(), T: external("cv", "location", "/proc/self/environ")}))),
	}
}

func TestFixtures(t *testing.T) {
	for name, m := range fixtures() {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		golden.File(t, filepath.Join("testdata", name), b, *update)
	}
	bin := filepath.Join("testdata", "external_ok.bin")
	if *update {
		if err := os.WriteFile(bin, bytes.Repeat([]byte{1, 2, 3, 4}, 8), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
