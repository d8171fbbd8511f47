// Package sqlstore implements store.Store over database/sql for both SQL
// dialects mlsec supports. store/sqlite and store/postgres supply the
// driver, the connection settings, the embedded migrations and the few
// dialect differences; everything else — the state machine, the audit
// chain, idempotency — lives here once.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec/store"
)

// Limits on what one call may store.
const (
	// MaxBundleSize bounds one evidence bundle.
	MaxBundleSize = 32 << 20
	// MaxFacts bounds the facts indexed from one bundle.
	MaxFacts = 10_000
	// MaxFindings bounds the findings of one ReplaceFindings call.
	MaxFindings = 100_000
	// MaxHubItems bounds the items of one hub scan.
	MaxHubItems = 1_000_000
	// MaxText bounds names, versions, sources, actors and reasons.
	MaxText = 4096
	// maxLineageEdges bounds the edges one Lineage call returns.
	maxLineageEdges = 10_000
)

// Dialect describes what differs between the SQL databases.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Dollar rewrites "?" placeholders to "$1", "$2", ...
	Dollar bool
	// ForUpdate is appended to SELECTs that read a row about to be
	// changed in the same transaction (" FOR UPDATE" on PostgreSQL; SQLite
	// transactions are already exclusive).
	ForUpdate string
	// MigrationLock is executed first in the migration transaction to
	// serialise concurrent migrators, or empty.
	MigrationLock string
	// SerializeWrites runs this process's write transactions on one
	// writer with group commit (see groupcommit.go): every write takes the
	// audit chain's head anyway (SQLite: one writer at all), so batching
	// them into one commit multiplies write throughput, and waiting
	// in-process is immediate where SQLite's busy handler sleeps in steps
	// of up to 100 ms.
	SerializeWrites bool
	// AuditAppend, if set, appends an audit entry in one statement that
	// advances the chain head and inserts the log row (see
	// appendAuditOne), instead of a locking read, an insert and an update.
	// The head row's lock is then taken in the transaction's last
	// statement and held for one round trip and the commit only.
	AuditAppend string
	// RegisterBatch, if set, registers concurrent new artifacts together
	// in one statement (see createbatch.go).
	RegisterBatch string
	// Migrations holds NNNN_name.sql files applied in name order.
	Migrations fs.FS
}

// DB is a store.Store over a *sql.DB.
type DB struct {
	db  *sql.DB
	d   Dialect
	log *slog.Logger
	now func() time.Time
	// queries rewritten for the dialect, keyed by their "?" form.
	rebound map[string]string
	// writes feeds the writer goroutine (Dialect.SerializeWrites);
	// stopWriter ends it.
	writes     chan *writeReq
	stopWriter func()
	// rd runs reads outside transactions with prepared statements.
	rd *stmtCache
	// creates feeds the registration batcher (Dialect.CreateBatch);
	// stopCreates ends it.
	creates     chan *createReq
	stopCreates func()
}

var _ store.Store = (*DB)(nil)

// Open migrates db and returns the store over it. The store owns db and
// closes it in Close.
func Open(ctx context.Context, db *sql.DB, d Dialect, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &DB{db: db, d: d, log: log, now: time.Now, rebound: map[string]string{}, rd: newStmtCache(db)}
	if d.SerializeWrites {
		s.startWriter()
	}
	if d.RegisterBatch != "" {
		s.startCreateBatcher()
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SQL returns the underlying database (for tests and the job queue).
func (s *DB) SQL() *sql.DB { return s.db }

// SetClock replaces the time source (tests).
func (s *DB) SetClock(now func() time.Time) { s.now = now }

func (s *DB) q(query string) string {
	if !s.d.Dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(s.d.Migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	slices.Sort(names)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if s.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS mlsec_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, name := range names {
		var one int
		err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM mlsec_migrations WHERE version = ?`), name).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: migrate: %w", err)
		}
		body, err := fs.ReadFile(s.d.Migrations, name)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("store: migrate %s: %w", path.Base(name), err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO mlsec_migrations (version, applied_at) VALUES (?, ?)`), name, s.now().UnixMicro()); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		s.log.Info("applied migration", "dialect", s.d.Name, "migration", name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Close stops the writer and closes the database.
func (s *DB) Close() error {
	if s.stopCreates != nil {
		s.stopCreates()
	}
	if s.stopWriter != nil {
		s.stopWriter()
	}
	s.rd.close()
	return s.db.Close()
}

// Ping checks the connection.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// tx runs fn in a transaction and commits it. With
// Dialect.SerializeWrites it is queued for the writer (group commit).
func (s *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.writes != nil {
		return s.groupTx(ctx, fn)
	}
	return s.singleTx(ctx, fn)
}

func (s *DB) singleTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (s *DB) stamp() (time.Time, int64) {
	t := store.AuditTime(s.now())
	return t, t.UnixMicro()
}

func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrInvalid}, args...)...)
}

func checkText(field, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid("%s is required", field)
	}
	if len(v) > MaxText {
		return invalid("%s longer than %d bytes", field, MaxText)
	}
	return store.CheckPrintable(field, v)
}

// checkLength bounds text that comes from file systems rather than from
// people (hub-scan roots and item paths): printed escaped, not refused.
func checkLength(field, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid("%s is required", field)
	}
	if len(v) > MaxText {
		return invalid("%s longer than %d bytes", field, MaxText)
	}
	return nil
}

func checkDigest(d store.Digest) error {
	_, err := store.ParseDigest(string(d))
	return err
}

func clamp(limit, def, max int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, max)
}
