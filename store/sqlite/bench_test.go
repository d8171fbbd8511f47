package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/store/sqlite"
	"github.com/mlsecops/mlsec/store/storetest"
)

// BENCH_DIR=/some/disk puts the database on that file system instead of
// the test's temporary directory.
func benchStore(b *testing.B) *sqlite.Store {
	dir := b.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlsec.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkIngest(b *testing.B) {
	for _, w := range []int{1, 4} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) { storetest.BenchIngest(b, benchStore(b), w) })
	}
}

// BenchmarkRegister: new artifacts from 1 and 50 concurrent callers.
func BenchmarkRegister(b *testing.B) {
	for _, w := range []int{1, 50} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) { storetest.BenchRegister(b, benchStore(b), w) })
	}
}

func BenchmarkGate10k(b *testing.B) {
	s := benchStore(b)
	ds := storetest.Seed(b, s, 10_000)
	storetest.BenchGate(b, s, ds)
}
