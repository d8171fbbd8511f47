package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mlsecops/mlsec/store/postgres"
	"github.com/mlsecops/mlsec/store/postgres/pgtest"
	"github.com/mlsecops/mlsec/store/storetest"
)

func benchStore(b *testing.B) *postgres.Store {
	url := pgtest.URL(b)
	s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: pgtest.Schema(b, url)})
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
