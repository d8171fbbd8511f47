package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/postgres"
	"github.com/mlsecops/mlsec/store/postgres/pgtest"
	"github.com/mlsecops/mlsec/store/storetest"
)

func TestConformance(t *testing.T) {
	url := pgtest.URL(t)
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T) store.Store {
			s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: pgtest.Schema(t, url)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		DB:        func(s store.Store) *sql.DB { return s.(*postgres.Store).SQL() },
		Unprotect: "ALTER TABLE audit_log DISABLE TRIGGER USER",
	})
}

func TestMigrateTwice(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := context.Background()
	for range 2 {
		s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

func TestBadSchemaName(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://x@127.0.0.1:1/db", postgres.Options{Schema: "x; DROP TABLE y"})
	if err == nil {
		t.Fatal("schema name with SQL accepted")
	}
}

func TestKillDuringIngest(t *testing.T) {
	if schema := os.Getenv("MLSEC_INGEST_CHILD_SCHEMA"); schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := postgres.Open(ctx, os.Getenv("MLSEC_INGEST_CHILD_URL"), postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal(storetest.IngestChild(ctx, s, os.Stdout))
	}
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	open := func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	open(t).Close()
	child := exec.Command(os.Args[0], "-test.run=^TestKillDuringIngest$")
	child.Env = append(os.Environ(), "MLSEC_INGEST_CHILD_SCHEMA="+schema, "MLSEC_INGEST_CHILD_URL="+url)
	storetest.KillDuringIngest(t, child, 600, open)
}

// TestOpenConcurrently: several workers starting at once against a schema
// that does not exist yet all open it (CREATE SCHEMA IF NOT EXISTS alone
// fails for all but one with a unique violation).
func TestOpenConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url) // dropped again at the end of the test
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
}
