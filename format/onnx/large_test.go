package onnx

import (
	"io"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/internal/testutil/readtest"
)

// TestLargeInlineWeights decodes a sparse 1.5 GiB model whose weights are
// inline raw_data: only the structure around them may be read.
func TestLargeInlineWeights(t *testing.T) {
	const weights = 3 << 29 // 1.5 GiB
	head, err := proto.Marshal(model(graph("main", node("relu", "", "Relu"))))
	if err != nil {
		t.Fatal(err)
	}
	// Tensor {name "w", raw_data <weights bytes>} as graph.initializer,
	// appended to the model's graph field (7) as a second graph chunk:
	// protobuf merges repeated occurrences of a message field.
	tensorHead := protowire.AppendBytes(protowire.AppendTag(nil, 8, protowire.BytesType), []byte("w"))
	tensorHead = protowire.AppendTag(tensorHead, 9, protowire.BytesType)
	tensorHead = protowire.AppendVarint(tensorHead, weights)
	tensorLen := len(tensorHead) + weights
	graphBody := protowire.AppendTag(nil, 5, protowire.BytesType)
	graphBody = protowire.AppendVarint(graphBody, uint64(tensorLen))
	graphLen := len(graphBody) + tensorLen
	prefix := protowire.AppendTag(append([]byte(nil), head...), 7, protowire.BytesType)
	prefix = protowire.AppendVarint(prefix, uint64(graphLen))
	prefix = append(append(prefix, graphBody...), tensorHead...)
	size := int64(len(prefix)) + weights
	n := readtest.CountReads(t, readtest.SparseFile(t, "big.onnx", prefix, size), func(r io.ReaderAt) {
		m, err := Decode(r, size, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Proto.GetGraph().GetInitializer(); len(got) != 1 || got[0].GetName() != "w" || len(m.Proto.GetGraph().GetNode()) != 1 {
			t.Errorf("graph = %v", m.Proto.GetGraph())
		}
	})
	if n > 1<<20 {
		t.Errorf("read %d bytes of a %d-byte model, want < 1 MiB", n, size)
	}
	t.Logf("read %d bytes of %d", n, size)
}
