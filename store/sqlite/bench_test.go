package sqlite_test

import (
	"context"
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

func BenchmarkIngest(b *testing.B) { storetest.BenchIngest(b, benchStore(b)) }

func BenchmarkGate10k(b *testing.B) {
	s := benchStore(b)
	ds := storetest.Seed(b, s, 10_000)
	storetest.BenchGate(b, s, ds)
}
