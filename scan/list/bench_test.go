package list_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mlsecops/mlsec/bench/gen/synth"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
)

// rchar returns the bytes this process has read through read(2)-family
// calls so far (Linux /proc/self/io), or -1.
func rchar() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

var benchFiles struct {
	once sync.Once
	dir  string
	err  error
}

// benchDir writes the synthetic benchmark inputs once per process.
func benchDir(b *testing.B) string {
	benchFiles.once.Do(func() {
		dir, err := os.MkdirTemp("", "mlsec-bench-")
		if err != nil {
			benchFiles.err = err
			return
		}
		benchFiles.dir = dir
		benchFiles.err = synth.WriteAll(dir, 2<<30, 1<<30, 1000)
	})
	if benchFiles.err != nil {
		b.Fatal(benchFiles.err)
	}
	return benchFiles.dir
}

func runner(b *testing.B) *scan.Runner {
	ds, err := list.All(scan.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	return scan.NewRunner(ds, scan.DefaultConfig(), scan.Options{})
}

func scanOnce(b *testing.B, r *scan.Runner, path string) *scan.Result {
	res, err := r.Scan(context.Background(), []string{path})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkScanCheckpoint2GiB scans a 2 GiB PyTorch zip checkpoint (sparse
// tensor data): target < 100 ms, reading < 1 MiB.
func BenchmarkScanCheckpoint2GiB(b *testing.B) {
	path := filepath.Join(benchDir(b), "checkpoint.pt")
	r := runner(b)
	before := rchar()
	b.ResetTimer()
	for b.Loop() {
		res := scanOnce(b, r, path)
		if res.Artifacts[0].Format != "pytorch-zip" {
			b.Fatalf("format %s", res.Artifacts[0].Format)
		}
	}
	if before >= 0 {
		b.ReportMetric(float64(rchar()-before)/float64(b.N), "read-B/op")
	}
}

// BenchmarkScanBinbytes1GiB scans a 1 GiB raw pickle dominated by large
// BINBYTES payloads: target >= 1 GB/s.
func BenchmarkScanBinbytes1GiB(b *testing.B) {
	path := filepath.Join(benchDir(b), "binbytes.pkl")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	r := runner(b)
	before := rchar()
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		res := scanOnce(b, r, path)
		if res.Artifacts[0].Status != scan.StatusScanned {
			b.Fatalf("status %s: %s", res.Artifacts[0].Status, res.Artifacts[0].Reason)
		}
	}
	if before >= 0 {
		b.ReportMetric(float64(rchar()-before)/float64(b.N), "read-B/op")
	}
}

// BenchmarkScanSmallPickles scans a directory of 1,000 small pickles with
// every core; reports files/s.
func BenchmarkScanSmallPickles(b *testing.B) {
	dir := filepath.Join(benchDir(b), "small")
	r := runner(b)
	b.ResetTimer()
	for b.Loop() {
		res := scanOnce(b, r, dir)
		if len(res.Artifacts) != 1000 {
			b.Fatalf("%d artifacts", len(res.Artifacts))
		}
	}
	b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "workers")
}
