package gguf

import (
	"fmt"
	"io"
	"testing"

	"github.com/mlsecops/mlsec/format"
	w "github.com/mlsecops/mlsec/format/gguf/internal/ggufwrite"
	"github.com/mlsecops/mlsec/internal/testutil/readtest"
)

// sparse10GiB writes a 10 GiB sparse GGUF v3 file: a 32,000-token
// vocabulary, a chat template and 1024 F32 tensors of 10 MiB each.
func sparse10GiB(tb testing.TB) (string, int64) {
	const n, elems = 1024, 10 << 20 / 4
	tokens := make([]any, 32000)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%d", i)
	}
	b := w.New(3).KV("general.architecture", w.String, "llama").
		KV("llama.context_length", w.Uint32, 4096).
		KV("tokenizer.ggml.tokens", w.Array, w.ArrayValue{Type: w.String, Items: tokens}).
		KV("tokenizer.chat_template", w.String, "{% for m in messages %}{{ m.content }}{% endfor %}")
	for i := range n {
		b.Tensor(fmt.Sprintf("blk.%d.weight", i), []uint64{elems}, 0, uint64(i*elems*4))
	}
	hdr := b.Header(32)
	size := int64(len(hdr)) + n*elems*4
	return readtest.SparseFile(tb, "big.gguf", hdr, size), size
}

func detectAndParse(tb testing.TB, name string, size int64) int64 {
	return readtest.CountReads(tb, name, func(r io.ReaderAt) {
		k, err := format.Detect(r, size)
		if err != nil || k != format.GGUF {
			tb.Fatalf("detected %s, %v", k, err)
		}
		g, err := Parse(r, size)
		if err != nil || len(g.Problems) != 0 || len(g.Tensors) != 1024 || len(g.ChatTemplates()) != 1 {
			tb.Fatalf("parse: %v, %v", err, g.Problems)
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

// BenchmarkDetectValidate10GiB: go test -bench . ./format/gguf
func BenchmarkDetectValidate10GiB(b *testing.B) {
	name, size := sparse10GiB(b)
	var n int64
	for b.Loop() {
		n = detectAndParse(b, name, size)
	}
	b.ReportMetric(float64(n), "bytes-read/op")
}
