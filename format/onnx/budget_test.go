package onnx

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsecops/mlsec/bench/hostile"
	"github.com/mlsecops/mlsec/internal/testutil/readtest"
)

// TestStructureBudget: a graph just under DefaultMaxStructureBytes decodes
// within the scan's 256 MiB budget; a bigger one is refused (ErrTooLarge,
// not analysed) while the structure is being copied.
func TestStructureBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 20 MB models")
	}
	for _, tc := range []struct {
		nodes int
		err   error
	}{{500_000, nil}, {800_000, ErrTooLarge}} {
		var buf bytes.Buffer
		if err := hostile.ONNXNodes(&buf, tc.nodes); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		before := readtest.LiveHeap(data)
		m, err := Decode(bytes.NewReader(data), int64(len(data)), Options{})
		if !errors.Is(err, tc.err) {
			t.Fatalf("%d nodes: err %v, want %v", tc.nodes, err, tc.err)
		}
		kept := readtest.LiveHeap([]any{m, data}) - before
		if kept > 200<<20 {
			t.Errorf("%d nodes (%d MiB): decoded model keeps %d MiB, want <= 200 MiB", tc.nodes, len(data)>>20, kept>>20)
		}
		t.Logf("%d nodes (%d MiB): %d MiB kept", tc.nodes, len(data)>>20, kept>>20)
	}
}
