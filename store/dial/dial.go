// Package dial opens the store a command line asks for: embedded SQLite in
// a data directory by default, PostgreSQL when a postgres:// URL is given.
// It also opens the data directory's encrypted blob store. It is the one
// place `mlsec serve`, `mlsec worker`, `mlsec hub` and `mlsec audit` share.
package dial

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
	"github.com/mlsecops/mlsec/store/postgres"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// Config names the storage.
type Config struct {
	// DataDir holds the SQLite database and job queue (unless DatabaseURL
	// is set), the blob store and the blob keys. Default: DefaultDataDir.
	DataDir string
	// DatabaseURL selects PostgreSQL: postgres://user@host:port/db.
	DatabaseURL string
	// Schema is an optional PostgreSQL schema (tests).
	Schema string
	Log    *slog.Logger
}

// DefaultDataDir is the data directory used when none is given: "mlsec-data"
// in the working directory, as for `mlsec serve`.
const DefaultDataDir = "mlsec-data"

// QueueFile is the SQLite job-queue database inside a data directory
// (single-node mode; with PostgreSQL the queue shares the database).
const QueueFile = "queue.db"

// IsPostgres reports whether url names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

func (c Config) dataDir() string {
	if c.DataDir != "" {
		return c.DataDir
	}
	return DefaultDataDir
}

// QueuePath returns the SQLite job-queue file for c, or "" with PostgreSQL.
func (c Config) QueuePath() string {
	if c.DatabaseURL != "" {
		return ""
	}
	return filepath.Join(c.dataDir(), QueueFile)
}

// Open opens the configured store.
func Open(ctx context.Context, c Config) (store.Store, error) {
	if c.DatabaseURL != "" {
		if !IsPostgres(c.DatabaseURL) {
			return nil, fmt.Errorf("%w: --database must be a postgres:// URL (SQLite lives in --data)", store.ErrInvalid)
		}
		return postgres.Open(ctx, c.DatabaseURL, postgres.Options{Schema: c.Schema, Log: c.Log})
	}
	return sqlite.OpenDir(ctx, c.dataDir(), sqlite.Options{Log: c.Log})
}

// Blobs opens the encrypted blob store in DataDir/blobs with the keys in
// DataDir/keys, creating the first server identity if there is none.
func Blobs(c Config) (*blob.Store, error) {
	dir := c.dataDir()
	keys, err := blob.LoadKeyring(filepath.Join(dir, "keys"), true)
	if err != nil {
		return nil, err
	}
	return blob.Open(filepath.Join(dir, "blobs"), keys)
}
