package onnx

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	f *os.File
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

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
	p := filepath.Join(t.TempDir(), "big.onnx")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(prefix); err != nil {
		t.Fatal(err)
	}
	size := int64(len(prefix)) + weights
	if err := f.Truncate(size); err != nil {
		t.Skip(err)
	}
	cr := &countingReader{f: f}
	m, err := Decode(cr, size, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Proto.GetGraph().GetInitializer(); len(got) != 1 || got[0].GetName() != "w" || len(m.Proto.GetGraph().GetNode()) != 1 {
		t.Errorf("graph = %v", m.Proto.GetGraph())
	}
	if n := cr.n.Load(); n > 1<<20 {
		t.Errorf("read %d bytes of a %d-byte model, want < 1 MiB", n, size)
	}
	t.Logf("read %d bytes of %d", cr.n.Load(), size)
}
