//go:build linux

package signing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Benchmarks read MLSEC_BENCH_DIR (default $TMPDIR/mlsec-signing-bench) and
// MLSEC_BENCH_SIZE (bytes, default 4 GiB); the data files are created once
// and reused, so the page cache is warm after the first run.
func benchSize() int64 {
	if s, err := strconv.ParseInt(os.Getenv("MLSEC_BENCH_SIZE"), 10, 64); err == nil && s > 0 {
		return s
	}
	return 4 << 30
}

func benchDir(b *testing.B) string {
	if d := os.Getenv("MLSEC_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "mlsec-signing-bench")
}

// ensureFile writes size bytes of random-looking data at p unless a file of
// that size is already there.
func ensureFile(b *testing.B, p string, size int64) {
	if fi, err := os.Stat(p); err == nil && fi.Size() == size {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	block := make([]byte, 4<<20)
	rand.Read(block)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	for n := int64(0); n < size; {
		k := min(int64(len(block)), size-n)
		block[0]++ // no two blocks alike
		if _, err := f.Write(block[:k]); err != nil {
			b.Fatal(err)
		}
		n += k
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// multiFileModel is a model of 16 files totalling benchSize.
func multiFileModel(b *testing.B) (string, int64) {
	size := benchSize()
	dir := filepath.Join(benchDir(b), fmt.Sprintf("multi-%d", size))
	for i := range 16 {
		ensureFile(b, filepath.Join(dir, fmt.Sprintf("model-%05d-of-00016.safetensors", i)), size/16)
	}
	return dir, size / 16 * 16
}

func singleFileModel(b *testing.B) (string, int64) {
	size := benchSize()
	p := filepath.Join(benchDir(b), fmt.Sprintf("single-%d.bin", size))
	ensureFile(b, p, size)
	return p, size
}

// singleCoreSHA256 measures crypto/sha256 on one goroutine over an
// in-memory buffer, in bytes per second of the thread's CPU time (so that
// other processes on a shared machine do not lower it).
func singleCoreSHA256() float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, 64<<20)
	rand.Read(buf)
	h := sha256.New()
	h.Write(buf) // warm up
	const rounds = 8
	start := threadCPUSeconds()
	for range rounds {
		h.Write(buf)
	}
	return float64(rounds*len(buf)) / (threadCPUSeconds() - start)
}

func threadCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func warm(b *testing.B, path string) {
	if _, err := HashModel(context.Background(), path, HashOptions{Hash: BLAKE3, AllowSymlinks: true}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFilesSHA256 hashes a 16-file model with the files method and
// reports its throughput against GOMAXPROCS × single-core crypto/sha256,
// measured just before each iteration ("efficiency", target ≥ 0.90).
// "cpu-efficiency" divides by the process's CPU time instead of wall time
// and so shows the parallel overhead even on a machine shared with others.
func BenchmarkFilesSHA256(b *testing.B) {
	dir, size := multiFileModel(b)
	warm(b, dir)
	cores := float64(runtime.GOMAXPROCS(0))
	var single, wall, cpu float64
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		single += singleCoreSHA256()
		b.StartTimer()
		start, cpu0 := time.Now(), cpuSeconds()
		if _, err := HashModel(context.Background(), dir, HashOptions{Method: MethodFiles, Hash: SHA256}); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start).Seconds()
		cpu += cpuSeconds() - cpu0
	}
	n := float64(b.N)
	single /= n
	tput := float64(size) * n / wall
	b.ReportMetric(single/1e9, "single-core-GB/s")
	b.ReportMetric(tput/1e9, "GB/s")
	b.ReportMetric(tput/(cores*single), "efficiency")
	b.ReportMetric(float64(size)*n/cpu/single, "cpu-efficiency")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkShardsBLAKE3 hashes one large file with --method shards --hash
// blake3 (serialized by files, as the reference does, with BLAKE3 hashing
// the file's subtrees in parallel). Target ≥ 3.5 GB/s on 2 cores.
func BenchmarkShardsBLAKE3(b *testing.B) {
	p, size := singleFileModel(b)
	warm(b, p)
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := HashModel(context.Background(), p, HashOptions{Method: MethodShards, Hash: BLAKE3}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)*float64(b.N)/time.Since(start).Seconds()/1e9, "GB/s")
}

// BenchmarkShardsSHA256 hashes one large file in 1 GB SHA-256 shards.
func BenchmarkShardsSHA256(b *testing.B) {
	p, size := singleFileModel(b)
	warm(b, p)
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := HashModel(context.Background(), p, HashOptions{Method: MethodShards, Hash: SHA256, ShardSize: 256 << 20}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)*float64(b.N)/time.Since(start).Seconds()/1e9, "GB/s")
}
