package rag_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/rag"
	"github.com/mlsecops/mlsec/scan/list"
)

// BenchmarkAnalyse measures analysis throughput over the text and JSON
// files in $MLSEC_RAG_BENCH_DIR (default: the labelled corpus); MB/cpu-s is
// the throughput per core of CPU time:
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
	cpu0 := cpuTime()
	for range b.N {
		for _, d := range docs {
			a.AnalyseKind(d.b, d.kind)
		}
	}
	// The build machine's cores are shared: report throughput per second
	// of CPU time this process used (one core fully used = wall MB/s).
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(total)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanDocuments runs the whole scanner (format detection, every
// detector, the runner's worker pool) over the directory
// $MLSEC_RAG_SCAN_DIR, e.g. one copy of the corpus bench/rag.sh builds:
//
//	MLSEC_RAG_SCAN_DIR=/tmp/mlsec-rag-corpus/corpus/copy00 go test -run '^$' -bench ScanDocuments -benchtime 3x ./scan/detector/rag/
func BenchmarkScanDocuments(b *testing.B) {
	dir := os.Getenv("MLSEC_RAG_SCAN_DIR")
	if dir == "" {
		b.Skip("set MLSEC_RAG_SCAN_DIR")
	}
	var total int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	cfg := scan.DefaultConfig()
	dets, err := list.All(cfg)
	if err != nil {
		b.Fatal(err)
	}
	r := scan.NewRunner(dets, cfg, scan.Options{})
	b.SetBytes(total)
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		if _, err := r.Scan(context.Background(), []string{dir}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(total)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}
