package safetensors

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mlsecops/mlsec/format"
)

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	f *os.File
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(b, off)
	c.n.Add(int64(n))
	return n, err
}

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
	name := filepath.Join(tb.TempDir(), "big.safetensors")
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		tb.Skipf("sparse file: %v", err)
	}
	return name, size
}

func detectAndParse(tb testing.TB, name string, size int64) int64 {
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := &countingReaderAt{f: f}
	k, err := format.Detect(r, size)
	if err != nil || k != format.Safetensors {
		tb.Fatalf("detected %s, %v", k, err)
	}
	sf, err := Parse(r, size)
	if err != nil || len(sf.Problems) != 0 || len(sf.Tensors) != 1024 {
		tb.Fatalf("parse: %v, %v", err, sf.Problems)
	}
	return r.n.Load()
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
