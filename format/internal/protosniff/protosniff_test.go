package protosniff

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func varintField(b []byte, n protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, n, protowire.VarintType), v)
}

func bytesField(b []byte, n protowire.Number, v string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, n, protowire.BytesType), v)
}

func TestClassify(t *testing.T) {
	graph := "\x0a\x03abc" // a GraphProto with a node-ish payload; not decoded
	tests := []struct {
		name string
		msg  []byte
		want Kind
	}{
		{"onnx in field order", bytesField(varintField(nil, 1, 8), 7, graph), ONNX},
		{"onnx graph first", varintField(bytesField(bytesField(nil, 7, graph), 2, "x"), 1, 8), ONNX},
		{"onnx functions only", varintField(bytesField(nil, 25, "f"), 1, 9), ONNX},
		{"onnx without ir_version", bytesField(nil, 7, graph), None},
		{"onnx with ir_version 0", varintField(bytesField(nil, 7, graph), 1, 0), None},
		{"onnx without graph", varintField(bytesField(nil, 2, "p"), 1, 8), SavedModel}, // only fields 1 and 2
		{"onnx with an unknown field", bytesField(varintField(bytesField(nil, 7, graph), 1, 8), 99, "x"), ONNX},
		{"onnx with a fixed64 unknown field", protowire.AppendFixed64(protowire.AppendTag(bytesField(varintField(nil, 1, 8), 7, graph), 98, protowire.Fixed64Type), 1), ONNX},
		{"onnx graph with a wrong wire type", varintField(varintField(nil, 1, 8), 7, 3), None},
		{"saved model, meta graph first", varintField(bytesField(nil, 2, "mg"), 1, 1), SavedModel},
		{"saved model without version", bytesField(nil, 2, "mg"), SavedModel},
		{"length past the end", append(varintField(nil, 1, 8), 0x3a, 0x7f, 'a'), None},
		{"trailing garbage", append(bytesField(varintField(nil, 1, 8), 7, graph), 0xff), None},
		{"text", []byte("hello world, this is text\n"), None},
		{"empty", nil, None},
	}
	for _, tt := range tests {
		if got := Classify(bytes.NewReader(tt.msg), int64(len(tt.msg))); got != tt.want {
			t.Errorf("%s: Classify = %v, want %v", tt.name, got, tt.want)
		}
	}
}
