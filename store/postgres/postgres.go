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

// advanceHead is a CTE that advances the audit chain's head and returns
// the new entry's seq, prev_hash and hash; $1 is the entry's canonical form
// after `{"seq":N` and cond limits when it runs. The UPDATE takes the head
// row's lock; under READ COMMITTED a writer that waited for it re-reads
// the head its predecessor committed, so the chain never forks, also
// across servers sharing the database. An empty head hash (no entry yet)
// chains to the genesis hash of 32 zero bytes.
const advanceHead = `head AS (
	UPDATE audit_head SET
		seq = seq + 1,
		prev_hash = CASE WHEN hash = '' THEN repeat('0', 64) ELSE hash END,
		hash = encode(sha256(
			decode(CASE WHEN hash = '' THEN repeat('0', 64) ELSE hash END, 'hex') ||
			convert_to('{"seq":' || (seq + 1), 'UTF8') || $1::bytea), 'hex')
	WHERE id = 1`

// auditAppend appends one audit entry: $1 as in advanceHead, $2..$6 the
// entry's time, actor, action, subject and detail.
const auditAppend = `WITH ` + advanceHead + `
	RETURNING seq, prev_hash, hash
)
INSERT INTO audit_log (seq, time, actor, action, subject, detail, prev_hash, hash)
SELECT seq, $2, $3, $4, $5, $6, prev_hash, hash FROM head
RETURNING seq, prev_hash, hash`

// registerBatch registers many new artifacts in one autocommitted
// statement (see sqlstore's createbatch.go): their rows, their first state
// changes and their artifact.create audit entries, chained in order in the
// database from the head it locks. Inputs are arrays: $1 digests, $2
// names, $3 versions, $4 kinds, $5 directory flags, $6 sizes, $7 sources,
// $8 blob flags, $9 times, $10 actors, $12 each entry's canonical form
// after `{"seq":N` and $13 its detail; $11 is the initial state. Digests
// that exist are skipped (no row, no entry). It returns, per artifact
// created, its digest and its entry's seq, prev_hash and hash. The head
// row is locked from this statement's start to its commit: no round trip
// to the client while it is held.
const registerBatch = `WITH RECURSIVE u AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $12::bytea[], $13::text[])
		WITH ORDINALITY AS u (digest, name, version, kind, directory, size, source, blob, t, actor, rest, detail, ord)
), h AS (
	SELECT seq, CASE WHEN hash = '' THEN repeat('0', 64) ELSE hash END AS hash FROM audit_head WHERE id = 1 FOR UPDATE
), a AS (
	INSERT INTO artifacts (digest, name, version, kind, directory, size, source, blob, state, created_at, updated_at)
	-- Joining h takes the head's lock before any row is inserted: every
	-- writer locks the head before it waits on anything else.
	SELECT digest, name, version, kind, directory, size, source, blob, $11, t, t FROM u CROSS JOIN (SELECT 1 FROM h) l ORDER BY ord
	ON CONFLICT (digest) DO NOTHING
	RETURNING digest
), n AS (
	SELECT u.*, row_number() OVER (ORDER BY u.ord) AS k FROM u JOIN a ON a.digest = u.digest
), sc AS (
	INSERT INTO state_changes (artifact, from_state, to_state, via, actor, created_at)
	SELECT digest, '', $11, 'create', actor, t FROM n ORDER BY k
), c (k, seq, prev, hash) AS (
	SELECT 0::bigint, seq, ''::text, hash FROM h
	UNION ALL
	SELECT n.k, c.seq + 1, c.hash, encode(sha256(decode(c.hash, 'hex') || convert_to('{"seq":' || (c.seq + 1), 'UTF8') || n.rest), 'hex')
	FROM c JOIN n ON n.k = c.k + 1
), l AS (
	INSERT INTO audit_log (seq, time, actor, action, subject, detail, prev_hash, hash)
	SELECT c.seq, n.t, n.actor, 'artifact.create', n.digest, n.detail, c.prev, c.hash FROM c JOIN n ON n.k = c.k ORDER BY c.k
), hu AS (
	UPDATE audit_head SET seq = m.seq, hash = m.hash, prev_hash = m.prev
	FROM (SELECT seq, prev, hash FROM c WHERE k > 0 ORDER BY k DESC LIMIT 1) m WHERE id = 1
)
SELECT n.digest, c.seq, c.prev, c.hash FROM c JOIN n ON n.k = c.k ORDER BY c.k`

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
	d := sqlstore.Dialect{
		Name:          "postgres",
		Dollar:        true,
		ForUpdate:     " FOR UPDATE",
		MigrationLock: `SELECT pg_advisory_xact_lock(7146524353)`,
		AuditAppend:   auditAppend,
		RegisterBatch: registerBatch,
		Migrations:    m,
	}
	s, err := sqlstore.Open(ctx, db, d, opts.Log)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	return &Store{DB: s}, nil
}
