package rag_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan/detector/rag"
)

// BenchmarkAnalyse measures analysis throughput over the text and JSON
// files in $MLSEC_RAG_BENCH_DIR (default: the labelled corpus):
//
//	MLSEC_RAG_BENCH_DIR=/usr/share/doc/nodejs go test -run '^$' -bench Analyse ./scan/detector/rag/
func BenchmarkAnalyse(b *testing.B) {
	dir := os.Getenv("MLSEC_RAG_BENCH_DIR")
	if dir == "" {
		dir = corpusDir
	}
	type doc struct {
		b    []byte
		kind format.Kind
	}
	var docs []doc
	var total int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) > rag.MaxDocumentBytes {
			return nil
		}
		k, err := format.DetectFile(p, bytes.NewReader(data), int64(len(data)))
		if err == nil && (k == format.Text || k == format.JSON) {
			docs = append(docs, doc{data, k})
			total += int64(len(data))
		}
		return nil
	})
	if len(docs) == 0 {
		b.Skip("no documents")
	}
	a := rag.NewAnalyser()
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, d := range docs {
			a.AnalyseKind(d.b, d.kind)
		}
	}
}
