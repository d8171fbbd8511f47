package oci_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// benchModel writes four shards of MLSEC_OCI_BENCH_MIB MiB each (default
// 64) of random bytes and returns the model directory and the shards'
// sha256 digests (as a signature would give them to Push).
func benchModel(b *testing.B) (string, map[string][]byte, int64) {
	b.Helper()
	mib, _ := strconv.Atoi(os.Getenv("MLSEC_OCI_BENCH_MIB"))
	if mib <= 0 {
		mib = 64
	}
	dir := filepath.Join(b.TempDir(), "model")
	os.MkdirAll(dir, 0o755)
	known := map[string][]byte{}
	var total int64
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("model-%05d-of-00004.safetensors", i)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rand.Reader, int64(mib)<<20))
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		known[name], total = h.Sum(nil), total+n
	}
	return dir, known, total
}

// BenchmarkPush and BenchmarkPull move a four-shard model through
// docker-registry (TLS, loopback): the wall time of the transfer with its
// digest checks, without the CLI's signature check and scan. For the
// comparison with the oras CLI see bench/oci.sh.
//
//	go test -run '^$' -bench 'Push|Pull' -benchtime 3x -cpuprofile cpu.out ./transport/oci
func BenchmarkPush(b *testing.B) {
	reg := ocitest.StartDistribution(b)
	dir, known, total := benchModel(b)
	a, err := transport.Collect(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	b.ResetTimer()
	for i := range b.N {
		repo := repoFor(b, reg, fmt.Sprintf("bench/push%d", i))
		if _, err := oci.Push(context.Background(), repo, "v1", a, oci.PushOptions{KnownDigests: known}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPull(b *testing.B) {
	reg := ocitest.StartDistribution(b)
	dir, known, total := benchModel(b)
	a, err := transport.Collect(dir)
	if err != nil {
		b.Fatal(err)
	}
	repo := repoFor(b, reg, "bench/pull")
	res, err := oci.Push(context.Background(), repo, "v1", a, oci.PushOptions{KnownDigests: known})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	b.ResetTimer()
	for i := range b.N {
		out := filepath.Join(b.TempDir(), strconv.Itoa(i))
		if _, err := oci.Pull(context.Background(), repo, res.Manifest, out, oci.PullOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
	}
}
