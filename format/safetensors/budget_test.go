package safetensors

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsecops/mlsec/bench/hostile"
	"github.com/mlsecops/mlsec/internal/testutil/readtest"
)

// TestHostileHeadersBounded: a header with more tensors than MaxTensors, or
// a metadata map past the member cap, ends in ErrLimit ("not analysed")
// with bounded memory: what Parse keeps is far below the header's size.
func TestHostileHeadersBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 30 MB headers")
	}
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
		keep  uint64 // bytes Parse may keep
	}{
		{"tensors", func(b *bytes.Buffer) error { return hostile.SafetensorsTensors(b, MaxTensors+10) }, 64 << 20},
		{"metadata", func(b *bytes.Buffer) error { return hostile.SafetensorsMetadata(b, 30_000_000) }, 16 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			data := bytes.Clone(buf.Bytes())
			buf = bytes.Buffer{}
			before := uint64(readtest.LiveHeap(data))
			f, err := Parse(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			after := uint64(readtest.LiveHeap([]any{f, data}))
			if !f.Incomplete || len(f.Problems) != 1 || !errors.Is(f.Problems[0], ErrLimit) {
				t.Fatalf("incomplete %v, problems %v; want one ErrLimit", f.Incomplete, f.Problems)
			}
			kept := int64(after) - int64(before)
			if kept > int64(tc.keep) {
				t.Errorf("Parse keeps %d MiB of a %d MiB header, want <= %d MiB", kept>>20, len(data)>>20, tc.keep>>20)
			}
			t.Logf("%d MiB header: %d tensors, %d MiB kept", len(data)>>20, len(f.Tensors), kept>>20)
		})
	}
}
