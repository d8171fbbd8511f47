package gguf

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsecops/mlsec/bench/hostile"
	"github.com/mlsecops/mlsec/internal/testutil/readtest"
)

// TestKVCap: MaxKVs key/values are read with bounded memory; one more is
// refused before anything is read (not analysed, ErrCount).
func TestKVCap(t *testing.T) {
	for _, tc := range []struct {
		n        int
		complete bool
	}{{MaxKVs, true}, {MaxKVs + 1, false}, {1_000_000, false}} {
		var buf bytes.Buffer
		if err := hostile.GGUFKVs(&buf, tc.n); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		before := readtest.LiveHeap(data)
		f, err := Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		kept := readtest.LiveHeap([]any{f, data}) - before
		if f.Complete != tc.complete {
			t.Errorf("%d KVs: complete %v, problems %v", tc.n, f.Complete, f.Problems)
		}
		if !tc.complete && (len(f.Problems) != 1 || !errors.Is(f.Problems[0], ErrCount) || len(f.KVs) != 0) {
			t.Errorf("%d KVs: %d read, problems %v; want none read and one ErrCount", tc.n, len(f.KVs), f.Problems)
		}
		// About 100 bytes a KV (key, boxed value, offsets, seen-map entry).
		if kept > 16<<20 {
			t.Errorf("%d KVs: Parse keeps %d MiB, want <= 16 MiB", tc.n, kept>>20)
		}
		t.Logf("%d KVs (%d MiB): %d KiB kept", tc.n, len(data)>>20, kept>>10)
	}
}
