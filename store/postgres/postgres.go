// Package postgres is the PostgreSQL store.Store for deployments that run
// several servers and workers against one database. It uses
// github.com/jackc/pgx/v5 (through its database/sql adapter) and migrates
// from the SQL files embedded in this package.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune Open.
type Options struct {
	// Schema, if set, holds all of mlsec's tables (created if missing);
	// tests use a fresh schema each. Default: the connection's search_path.
	Schema string
	// MaxConns caps the connection pool (default 16).
	MaxConns int
	// Log receives migration and diagnostic messages.
	Log *slog.Logger
}

// Store is the PostgreSQL store.Store.
type Store struct {
	*sqlstore.DB
}

var _ store.Store = (*Store)(nil)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ConnConfig parses a postgres:// URL and applies opts.Schema as the
// search_path; the job queue uses it to share the store's database.
func ConnConfig(databaseURL string, opts Options) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: database URL: %w", store.ErrInvalid, err)
	}
	if opts.Schema != "" {
		if !schemaName.MatchString(opts.Schema) {
			return nil, fmt.Errorf("%w: schema name %q", store.ErrInvalid, opts.Schema)
		}
		cfg.RuntimeParams["search_path"] = opts.Schema
	}
	return cfg, nil
}

// Open connects to databaseURL (postgres://user@host:port/db?...),
// creates opts.Schema if set, and migrates.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	cfg, err := ConnConfig(databaseURL, opts)
	if err != nil {
		return nil, err
	}
	if opts.Schema != "" {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("store: postgres: %w", err)
		}
		// CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent
		// creator (it fails with a unique violation), and several workers
		// often start at once: serialise it under the migration lock.
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7146524353)`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+opts.Schema)
			return err
		})
		conn.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: postgres: create schema: %w", err)
		}
	}
	db := stdlib.OpenDB(*cfg)
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 16
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	m, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	s, err := sqlstore.Open(ctx, db, sqlstore.Dialect{
		Name:          "postgres",
		Dollar:        true,
		ForUpdate:     " FOR UPDATE",
		MigrationLock: `SELECT pg_advisory_xact_lock(7146524353)`,
		Migrations:    m,
	}, opts.Log)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	return &Store{DB: s}, nil
}
