// Package sqlite is the embedded store.Store: one SQLite database file
// (modernc.org/sqlite, pure Go) in WAL mode, migrated from the SQL files
// embedded in this package. It is the default for `mlsec serve`.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file Open creates inside a data directory.
const FileName = "mlsec.db"

// Options tune Open.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "FULL" (default: every
	// commit is fsynced, so acknowledged writes survive a machine crash) or
	// "NORMAL" (survives a process crash such as kill -9, not power loss).
	Synchronous string
	// Log receives migration and diagnostic messages.
	Log *slog.Logger
}

// Store is the SQLite store.Store.
type Store struct {
	*sqlstore.DB
	path string
}

var _ store.Store = (*Store)(nil)

// DSN returns the modernc.org/sqlite data source name Open uses for path:
// WAL journal, a busy timeout, foreign keys and IMMEDIATE write
// transactions (so concurrent writers queue instead of failing).
func DSN(path, synchronous string) string {
	if synchronous == "" {
		synchronous = "FULL"
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	q.Set("_txlock", "immediate")
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// Open opens (creating and migrating if needed) the database file path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	switch opts.Synchronous {
	case "", "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("%w: sqlite synchronous must be FULL or NORMAL, not %q", store.ErrInvalid, opts.Synchronous)
	}
	db, err := sql.Open("sqlite", DSN(path, opts.Synchronous))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	m, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	s, err := sqlstore.Open(ctx, db, sqlstore.Dialect{Name: "sqlite", Migrations: m, SerializeWrites: true}, opts.Log)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	return &Store{DB: s, path: path}, nil
}

// OpenDir opens the store in data directory dir (created with mode 0700 if
// missing) as dir/mlsec.db.
func OpenDir(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	return Open(ctx, filepath.Join(dir, FileName), opts)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }
