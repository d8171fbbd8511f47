package safetensors

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/readtest"
)

// sparse10GiB writes a 10 GiB sparse safetensors file of 1024 F32 tensors
// of 10 MiB each.
func sparse10GiB(tb testing.TB) (string, int64) {
	const n, elems = 1024, 10 << 20 / 4
	var hdr strings.Builder
	hdr.WriteString(`{"__metadata__":{"format":"pt"}`)
	for i := range n {
		fmt.Fprintf(&hdr, `,"model.layers.%d.weight":{"dtype":"F32","shape":[%d],"data_offsets":[%d,%d]}`, i, elems, i*elems*4, (i+1)*elems*4)
	}
	hdr.WriteString("}")
	data := build(hdr.String(), nil)
	size := int64(len(data)) + n*elems*4
	return readtest.SparseFile(tb, "big.safetensors", data, size), size
}

func detectAndParse(tb testing.TB, name string, size int64) int64 {
	return readtest.CountReads(tb, name, func(r io.ReaderAt) {
		k, err := format.Detect(r, size)
		if err != nil || k != format.Safetensors {
			tb.Fatalf("detected %s, %v", k, err)
		}
		sf, err := Parse(r, size)
		if err != nil || len(sf.Problems) != 0 || len(sf.Tensors) != 1024 {
			tb.Fatalf("parse: %v, %v", err, sf.Problems)
		}
	})
}

// TestLargeFileReadsLittle checks that detection plus validation of a 10
// GiB file reads less than 1 MiB.
func TestLargeFileReadsLittle(t *testing.T) {
	name, size := sparse10GiB(t)
	if n := detectAndParse(t, name, size); n >= 1<<20 {
		t.Errorf("read %d bytes, want < 1 MiB", n)
	}
}

// BenchmarkDetectValidate10GiB: go test -bench . ./format/safetensors
func BenchmarkDetectValidate10GiB(b *testing.B) {
	name, size := sparse10GiB(b)
	var n int64
	for b.Loop() {
		n = detectAndParse(b, name, size)
	}
	b.ReportMetric(float64(n), "bytes-read/op")
}
