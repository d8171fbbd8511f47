package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
	"github.com/mlsecops/mlsec/store/storetest"
)

func backend() storetest.Backend {
	return storetest.Backend{
		Open: func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mlsec.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		DB:        func(s store.Store) *sql.DB { return s.(*sqlite.Store).SQL() },
		Unprotect: "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete",
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, backend()) }

func TestKillDuringIngest(t *testing.T) {
	if path := os.Getenv("MLSEC_INGEST_CHILD_DB"); path != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal(storetest.IngestChild(ctx, s, os.Stdout))
	}
	path := filepath.Join(t.TempDir(), "mlsec.db")
	// Create the schema first so the child starts writing at once.
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	child := exec.Command(os.Args[0], "-test.run=^TestKillDuringIngest$")
	child.Env = append(os.Environ(), "MLSEC_INGEST_CHILD_DB="+path)
	storetest.KillDuringIngest(t, child, 600, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
