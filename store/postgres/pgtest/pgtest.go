// Package pgtest gives tests a PostgreSQL database to run against: the
// server named by $MLSEC_TEST_POSTGRES, or the local one at
// 127.0.0.1:5432 (trust auth, user postgres or root, database test). Tests
// skip with a clear message when none is reachable.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that overrides the database URL.
const EnvURL = "MLSEC_TEST_POSTGRES"

// Candidates are the URLs tried when $MLSEC_TEST_POSTGRES is unset.
func Candidates() []string {
	return []string{
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"postgres://root@127.0.0.1:5432/test?sslmode=disable",
	}
}

// URL returns a reachable database URL or skips t.
func URL(t testing.TB) string {
	t.Helper()
	urls := Candidates()
	if u := os.Getenv(EnvURL); u != "" {
		urls = []string{u}
	}
	var errs []error
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		conn, err := pgx.Connect(ctx, u)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return u
		}
		errs = append(errs, err)
	}
	t.Skipf("PostgreSQL tests skipped: no PostgreSQL reachable (set %s=postgres://...; tried %v): %v", EnvURL, urls, errs)
	return ""
}

// Schema returns the name of a fresh, empty schema in the database at url,
// dropped (with everything in it) when t ends.
func Schema(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "mlsec_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP SCHEMA %s CASCADE", name)); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}
