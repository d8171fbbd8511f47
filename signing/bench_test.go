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
// in-memory buffer, in bytes per second.
func singleCoreSHA256() float64 {
	buf := make([]byte, 64<<20)
	rand.Read(buf)
	h := sha256.New()
	h.Write(buf) // warm up
	start := time.Now()
	const rounds = 8
	for range rounds {
		h.Write(buf)
	}
	return float64(rounds*len(buf)) / time.Since(start).Seconds()
}

func warm(b *testing.B, path string) {
	if _, err := HashModel(context.Background(), path, HashOptions{Hash: BLAKE3, AllowSymlinks: true}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFilesSHA256 hashes a 16-file model with the files method and
// reports its throughput against GOMAXPROCS × single-core crypto/sha256
// measured in the same run ("efficiency", target ≥ 0.90).
func BenchmarkFilesSHA256(b *testing.B) {
	dir, size := multiFileModel(b)
	warm(b, dir)
	single := singleCoreSHA256()
	cores := runtime.GOMAXPROCS(0)
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := HashModel(context.Background(), dir, HashOptions{Method: MethodFiles, Hash: SHA256}); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start).Seconds()
	tput := float64(size) * float64(b.N) / elapsed
	b.ReportMetric(single/1e9, "single-core-GB/s")
	b.ReportMetric(tput/1e9, "GB/s")
	b.ReportMetric(tput/(float64(cores)*single), "efficiency")
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
