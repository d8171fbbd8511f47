package postgres_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
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

// TestAuditChainConcurrentServers: two stores on one schema (two servers)
// register new and repeated artifacts, record decisions and append entries
// at once, with non-ASCII text in the hashed fields. Registrations go
// through the batched one-statement path, the other writes through the
// one-statement audit append; the chain must verify and hold exactly one
// entry per write that changed something.
func TestAuditChainConcurrentServers(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := context.Background()
	var stores [2]*postgres.Store
	for i := range stores {
		s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	digest := func(s string) store.Digest {
		h := sha256.Sum256([]byte(s))
		return store.Digest("sha256:" + hex.EncodeToString(h[:]))
	}
	var mu sync.Mutex
	created := map[store.Digest]int{}
	audited := 0
	var wg sync.WaitGroup
	for w := range 12 {
		s := stores[w%2]
		wg.Go(func() {
			for i := range 30 {
				name := fmt.Sprintf("modèle/ü-%d-%d ✓", w, i)
				d := digest(name)
				if i%5 == 0 {
					d = digest(fmt.Sprintf("shared-%d", i)) // registered by every worker
				}
				_, c, err := s.PutArtifact(ctx, store.Artifact{Digest: d, Name: name, Version: "v1", Kind: "model", Size: int64(i + 1)}, fmt.Sprintf("token:wörker-%d#%d", w, w+1))
				if err != nil && !errors.Is(err, store.ErrConflict) { // shared digests differ in size
					t.Error(err)
					return
				}
				mu.Lock()
				if c {
					created[d]++
					audited++
				}
				mu.Unlock()
				if i%7 == 3 {
					if _, err := s.Audit(ctx, store.AuditEntry{Actor: "server", Action: "login.failed", Subject: "token:?", Detail: map[string]string{"ip": "10.0.0.1", "note": "ünïcode"}}); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					audited++
					mu.Unlock()
				}
				if i%10 == 1 && err == nil {
					_, err := s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "ci", Result: store.ResultPass, To: store.StateVerified, Actor: "gate"})
					if err != nil && !errors.Is(err, store.ErrInvalidTransition) {
						t.Error(err)
						return
					}
					if err == nil {
						mu.Lock()
						audited++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	for d, n := range created {
		if n != 1 {
			t.Errorf("%s created %d times", d, n)
		}
	}
	for _, s := range stores {
		n, err := s.VerifyAudit(ctx)
		if err != nil || n != int64(audited) {
			t.Fatalf("VerifyAudit = %d, %v; want %d entries", n, err, audited)
		}
	}
	// One artifact.create entry and one creating state change per artifact.
	var creates, changes int
	db := stores[0].SQL()
	if err := db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'artifact.create'`).Scan(&creates); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM state_changes WHERE via = 'create'`).Scan(&changes); err != nil {
		t.Fatal(err)
	}
	if creates != len(created) || changes != len(created) {
		t.Errorf("%d artifact.create entries and %d creating state changes for %d artifacts", creates, changes, len(created))
	}
	// The hashed text round-trips: the entry names the artifact as stored.
	log, err := stores[1].AuditLog(ctx, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		if e.Action != "artifact.create" {
			continue
		}
		a, err := stores[1].Artifact(ctx, store.Digest(e.Subject))
		if err != nil || a.Name != e.Detail["name"] || e.Time.IsZero() {
			t.Errorf("entry %d: %+v; artifact %+v, %v", e.Seq, e, a, err)
		}
	}
}
