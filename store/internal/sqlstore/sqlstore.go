// Package sqlstore implements store.Store over database/sql for both SQL
// dialects mlsec supports. store/sqlite and store/postgres supply the
// driver, the connection settings, the embedded migrations and the few
// dialect differences; everything else — the state machine, the audit
// chain, idempotency — lives here once.
package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
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
}

var _ store.Store = (*DB)(nil)

// Open migrates db and returns the store over it. The store owns db and
// closes it in Close.
func Open(ctx context.Context, db *sql.DB, d Dialect, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &DB{db: db, d: d, log: log, now: time.Now, rebound: map[string]string{}}
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

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Ping checks the connection.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// tx runs fn in a transaction and commits it.
func (s *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
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

// appendAudit adds e to the chain inside tx.
func (s *DB) appendAudit(ctx context.Context, tx *sql.Tx, e *store.AuditEntry) error {
	var seq int64
	var hash string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+s.d.ForUpdate).Scan(&seq, &hash); err != nil {
		return fmt.Errorf("store: audit head: %w", err)
	}
	if e.Time.IsZero() {
		e.Time, _ = s.stamp()
	}
	if err := store.SealAudit(e, seq, hash); err != nil {
		return err
	}
	detail, err := json.Marshal(orEmpty(e.Detail))
	if err != nil {
		return fmt.Errorf("store: audit detail: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit_log (seq, time, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Subject, string(detail), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("store: audit append: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), e.Seq, e.Hash); err != nil {
		return fmt.Errorf("store: audit head: %w", err)
	}
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (s *DB) audit(ctx context.Context, tx *sql.Tx, t time.Time, actor, action, subject string, detail map[string]string) error {
	return s.appendAudit(ctx, tx, &store.AuditEntry{Time: t, Actor: actor, Action: action, Subject: subject, Detail: detail})
}

// ---- artifacts

const artifactCols = `digest, name, version, kind, directory, size, source, blob, state, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanArtifact(r scanner) (store.Artifact, error) {
	var a store.Artifact
	var dir, blob int64
	var created, updated int64
	err := r.Scan(&a.Digest, &a.Name, &a.Version, &a.Kind, &dir, &a.Size, &a.Source, &blob, &a.State, &created, &updated)
	a.Directory, a.Blob = dir != 0, blob != 0
	a.CreatedAt, a.UpdatedAt = fromMicro(created), fromMicro(updated)
	return a, err
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *DB) getArtifact(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, d store.Digest, forUpdate bool) (store.Artifact, error) {
	query := `SELECT ` + artifactCols + ` FROM artifacts WHERE digest = ?`
	if forUpdate {
		query += s.d.ForUpdate
	}
	a, err := scanArtifact(q.QueryRowContext(ctx, s.q(query), d))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("%w: artifact %s", store.ErrNotFound, d)
	}
	if err != nil {
		return a, fmt.Errorf("store: artifact: %w", err)
	}
	return a, nil
}

// PutArtifact implements store.Store.
func (s *DB) PutArtifact(ctx context.Context, a store.Artifact, actor string) (store.Artifact, bool, error) {
	if err := checkArtifact(a, actor); err != nil {
		return a, false, err
	}
	var out store.Artifact
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, created, err = s.putArtifactTx(ctx, tx, a, actor)
		return err
	})
	return out, created, err
}

func checkArtifact(a store.Artifact, actor string) error {
	if err := checkDigest(a.Digest); err != nil {
		return err
	}
	for _, f := range []struct{ n, v string }{{"name", a.Name}, {"version", a.Version}, {"kind", a.Kind}, {"source", a.Source}} {
		if err := checkText(f.n, f.v, false); err != nil {
			return err
		}
	}
	if err := checkText("actor", actor, true); err != nil {
		return err
	}
	if a.Size < 0 {
		return invalid("negative size")
	}
	return nil
}

func (s *DB) putArtifactTx(ctx context.Context, tx *sql.Tx, a store.Artifact, actor string) (store.Artifact, bool, error) {
	t, now := s.stamp()
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO artifacts (`+artifactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING`),
		a.Digest, a.Name, a.Version, a.Kind, b2i(a.Directory), a.Size, a.Source, b2i(a.Blob), store.StateQuarantined, now, now)
	if err != nil {
		return a, false, fmt.Errorf("store: put artifact: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO state_changes (artifact, from_state, to_state, via, actor, created_at) VALUES (?, '', ?, 'create', ?, ?)`),
			a.Digest, store.StateQuarantined, actor, now); err != nil {
			return a, false, fmt.Errorf("store: put artifact: %w", err)
		}
		if err := s.audit(ctx, tx, t, actor, "artifact.create", string(a.Digest), map[string]string{
			"name": a.Name, "version": a.Version, "kind": a.Kind, "source": a.Source, "size": strconv.FormatInt(a.Size, 10),
		}); err != nil {
			return a, false, err
		}
		out := a
		out.State, out.CreatedAt, out.UpdatedAt = store.StateQuarantined, t, t
		return out, true, nil
	}
	cur, err := s.getArtifact(ctx, tx, a.Digest, true)
	if err != nil {
		return a, false, err
	}
	if a.Size != 0 && cur.Size != 0 && a.Size != cur.Size {
		return a, false, fmt.Errorf("%w: artifact %s stored with size %d, not %d", store.ErrConflict, a.Digest, cur.Size, a.Size)
	}
	upd := cur
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&upd.Name, a.Name)
	fill(&upd.Version, a.Version)
	fill(&upd.Kind, a.Kind)
	fill(&upd.Source, a.Source)
	if upd.Size == 0 {
		upd.Size = a.Size
	}
	upd.Blob = cur.Blob || a.Blob
	upd.Directory = cur.Directory || a.Directory
	if upd == cur {
		return cur, false, nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE artifacts SET name = ?, version = ?, kind = ?, source = ?, size = ?, blob = ?, directory = ?, updated_at = ? WHERE digest = ?`),
		upd.Name, upd.Version, upd.Kind, upd.Source, upd.Size, b2i(upd.Blob), b2i(upd.Directory), now, a.Digest); err != nil {
		return a, false, fmt.Errorf("store: put artifact: %w", err)
	}
	if err := s.audit(ctx, tx, t, actor, "artifact.update", string(a.Digest), map[string]string{
		"name": upd.Name, "version": upd.Version, "kind": upd.Kind, "source": upd.Source, "blob": strconv.FormatBool(upd.Blob),
	}); err != nil {
		return a, false, err
	}
	upd.UpdatedAt = t
	return upd, false, nil
}

// Artifact implements store.Store.
func (s *DB) Artifact(ctx context.Context, d store.Digest) (store.Artifact, error) {
	if err := checkDigest(d); err != nil {
		return store.Artifact{}, err
	}
	return s.getArtifact(ctx, s.db, d, false)
}

// ArtifactsByName implements store.Store.
func (s *DB) ArtifactsByName(ctx context.Context, name, version string) ([]store.Artifact, error) {
	if err := checkText("name", name, true); err != nil {
		return nil, err
	}
	query := `SELECT ` + artifactCols + ` FROM artifacts WHERE name = ?`
	args := []any{name}
	if version != "" {
		query += ` AND version = ?`
		args = append(args, version)
	}
	query += ` ORDER BY created_at DESC, digest LIMIT 1000`
	return s.queryArtifacts(ctx, query, args...)
}

func (s *DB) queryArtifacts(ctx context.Context, query string, args ...any) ([]store.Artifact, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: artifacts: %w", err)
	}
	defer rows.Close()
	var out []store.Artifact
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return nil, fmt.Errorf("store: artifacts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: artifacts: %w", err)
	}
	return out, nil
}

// ListArtifacts implements store.Store.
func (s *DB) ListArtifacts(ctx context.Context, q store.ArtifactQuery) ([]store.Artifact, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if q.Name != "" {
		add("name = ?", q.Name)
	}
	if q.Kind != "" {
		add("kind = ?", q.Kind)
	}
	if q.State != "" {
		if !q.State.Valid() {
			return nil, invalid("unknown trust state %q", q.State)
		}
		add("state = ?", q.State)
	}
	if q.After != "" {
		add("digest > ?", q.After)
	}
	query := `SELECT ` + artifactCols + ` FROM artifacts`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY digest LIMIT ` + strconv.Itoa(clamp(q.Limit, 100, 1000))
	return s.queryArtifacts(ctx, query, args...)
}

// ---- decisions and trust state

// RecordDecision implements store.Store.
func (s *DB) RecordDecision(ctx context.Context, d store.Decision) (store.Decision, error) {
	if err := checkDigest(d.Artifact); err != nil {
		return d, err
	}
	if !d.Result.Valid() {
		return d, invalid("unknown result %q", d.Result)
	}
	if d.To != "" && !d.To.Valid() {
		return d, invalid("unknown trust state %q", d.To)
	}
	if err := checkText("stage", d.Stage, true); err != nil {
		return d, err
	}
	if err := checkText("actor", d.Actor, true); err != nil {
		return d, err
	}
	if err := checkText("policy", d.Policy, false); err != nil {
		return d, err
	}
	if len(d.Reasons) > 1000 {
		return d, invalid("more than 1000 reasons")
	}
	reasons, err := json.Marshal(orEmptySlice(d.Reasons))
	if err != nil {
		return d, fmt.Errorf("store: decision: %w", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.getArtifact(ctx, tx, d.Artifact, true)
		if err != nil {
			return err
		}
		d.From = a.State
		if d.To != "" {
			if err := store.CheckDecisionTransition(d.Result, a.State, d.To); err != nil {
				return err
			}
		}
		t, now := s.stamp()
		d.CreatedAt = t
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO decisions (artifact, stage, policy, result, reasons, evidence_id, from_state, to_state, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			d.Artifact, d.Stage, d.Policy, d.Result, string(reasons), d.EvidenceID, d.From, d.To, d.Actor, now).Scan(&d.ID); err != nil {
			return fmt.Errorf("store: decision: %w", err)
		}
		if d.To != "" {
			if err := s.setState(ctx, tx, d.Artifact, d.From, d.To, "decision", d.ID, d.Actor, "", now); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, t, d.Actor, "decision.record", string(d.Artifact), map[string]string{
			"decision_id": strconv.FormatInt(d.ID, 10), "stage": d.Stage, "policy": d.Policy, "result": string(d.Result),
			"from": string(d.From), "to": string(d.To), "evidence_id": strconv.FormatInt(d.EvidenceID, 10),
		})
	})
	return d, err
}

func orEmptySlice(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (s *DB) setState(ctx context.Context, tx *sql.Tx, d store.Digest, from, to store.TrustState, via string, decision int64, actor, reason string, now int64) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE artifacts SET state = ?, updated_at = ? WHERE digest = ? AND state = ?`), to, now, d, from); err != nil {
		return fmt.Errorf("store: state: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO state_changes (artifact, from_state, to_state, via, decision_id, actor, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		d, from, to, via, decision, actor, reason, now); err != nil {
		return fmt.Errorf("store: state: %w", err)
	}
	return nil
}

// Override implements store.Store.
func (s *DB) Override(ctx context.Context, o store.Override) (store.Artifact, error) {
	if err := checkDigest(o.Artifact); err != nil {
		return store.Artifact{}, err
	}
	if err := checkText("actor", o.Actor, true); err != nil {
		return store.Artifact{}, err
	}
	if err := checkText("reason", o.Reason, true); err != nil {
		return store.Artifact{}, err
	}
	var out store.Artifact
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.getArtifact(ctx, tx, o.Artifact, true)
		if err != nil {
			return err
		}
		if err := store.CheckOverrideTransition(a.State, o.To); err != nil {
			return err
		}
		t, now := s.stamp()
		if err := s.setState(ctx, tx, o.Artifact, a.State, o.To, "override", 0, o.Actor, o.Reason, now); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, t, o.Actor, "state.override", string(o.Artifact), map[string]string{
			"from": string(a.State), "to": string(o.To), "reason": o.Reason,
		}); err != nil {
			return err
		}
		a.State, a.UpdatedAt = o.To, t
		out = a
		return nil
	})
	return out, err
}

// Decisions implements store.Store.
func (s *DB) Decisions(ctx context.Context, d store.Digest) ([]store.Decision, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, artifact, stage, policy, result, reasons, evidence_id, from_state, to_state, actor, created_at FROM decisions WHERE artifact = ? ORDER BY id`), d)
	if err != nil {
		return nil, fmt.Errorf("store: decisions: %w", err)
	}
	defer rows.Close()
	var out []store.Decision
	for rows.Next() {
		var x store.Decision
		var reasons string
		var created int64
		if err := rows.Scan(&x.ID, &x.Artifact, &x.Stage, &x.Policy, &x.Result, &reasons, &x.EvidenceID, &x.From, &x.To, &x.Actor, &created); err != nil {
			return nil, fmt.Errorf("store: decisions: %w", err)
		}
		if err := json.Unmarshal([]byte(reasons), &x.Reasons); err != nil {
			return nil, fmt.Errorf("store: decisions: reasons: %w", err)
		}
		if len(x.Reasons) == 0 {
			x.Reasons = nil
		}
		x.CreatedAt = fromMicro(created)
		out = append(out, x)
	}
	return out, rows.Err()
}

// StateHistory implements store.Store.
func (s *DB) StateHistory(ctx context.Context, d store.Digest) ([]store.StateChange, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT artifact, from_state, to_state, via, decision_id, actor, reason, created_at FROM state_changes WHERE artifact = ? ORDER BY id`), d)
	if err != nil {
		return nil, fmt.Errorf("store: state history: %w", err)
	}
	defer rows.Close()
	var out []store.StateChange
	for rows.Next() {
		var c store.StateChange
		var created int64
		if err := rows.Scan(&c.Artifact, &c.From, &c.To, &c.Via, &c.DecisionID, &c.Actor, &c.Reason, &created); err != nil {
			return nil, fmt.Errorf("store: state history: %w", err)
		}
		c.CreatedAt = fromMicro(created)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: state history: %w", err)
	}
	if len(out) == 0 {
		if _, err := s.Artifact(ctx, d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- evidence

// AddEvidence implements store.Store.
func (s *DB) AddEvidence(ctx context.Context, e store.Evidence, actor string) (store.Evidence, bool, error) {
	if len(e.Bundle) == 0 {
		return e, false, invalid("empty bundle")
	}
	if len(e.Bundle) > MaxBundleSize {
		return e, false, invalid("bundle larger than %d bytes", MaxBundleSize)
	}
	if len(e.Facts) > MaxFacts {
		return e, false, invalid("more than %d facts", MaxFacts)
	}
	if err := checkText("media type", e.MediaType, false); err != nil {
		return e, false, err
	}
	if err := checkText("actor", actor, true); err != nil {
		return e, false, err
	}
	for i, f := range e.Facts {
		if err := checkDigest(f.Subject); err != nil {
			return e, false, fmt.Errorf("fact %d: %w", i, err)
		}
		if err := checkText("predicate type", f.PredicateType, true); err != nil {
			return e, false, fmt.Errorf("fact %d: %w", i, err)
		}
		if err := checkText("signer", f.Signer, false); err != nil {
			return e, false, fmt.Errorf("fact %d: %w", i, err)
		}
	}
	sum := sha256.Sum256(e.Bundle)
	e.Digest = store.Digest("sha256:" + hex.EncodeToString(sum[:]))
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, now := s.stamp()
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO evidence (digest, media_type, bundle, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING RETURNING id`),
			e.Digest, e.MediaType, e.Bundle, now).Scan(&e.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // stored before
		}
		if err != nil {
			return fmt.Errorf("store: add evidence: %w", err)
		}
		created = true
		e.CreatedAt = t
		if len(e.Facts) > 0 {
			stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO facts (evidence_id, predicate_type, subject, signer, time) VALUES (?, ?, ?, ?, ?)`))
			if err != nil {
				return fmt.Errorf("store: add evidence: %w", err)
			}
			defer stmt.Close()
			for i := range e.Facts {
				f := &e.Facts[i]
				f.EvidenceID = e.ID
				f.Time = store.AuditTime(f.Time)
				if _, err := stmt.ExecContext(ctx, e.ID, f.PredicateType, f.Subject, f.Signer, f.Time.UnixMicro()); err != nil {
					return fmt.Errorf("store: add evidence: fact: %w", err)
				}
			}
		}
		return s.audit(ctx, tx, t, actor, "evidence.add", string(e.Digest), map[string]string{
			"evidence_id": strconv.FormatInt(e.ID, 10), "media_type": e.MediaType, "facts": strconv.Itoa(len(e.Facts)),
		})
	})
	if err != nil {
		return e, false, err
	}
	if !created {
		var id int64
		if err := s.db.QueryRowContext(ctx, s.q(`SELECT id FROM evidence WHERE digest = ?`), e.Digest).Scan(&id); err != nil {
			return e, false, fmt.Errorf("store: add evidence: %w", err)
		}
		stored, err := s.Evidence(ctx, id)
		return stored, false, err
	}
	return e, true, nil
}

// Evidence implements store.Store.
func (s *DB) Evidence(ctx context.Context, id int64) (store.Evidence, error) {
	var e store.Evidence
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, digest, media_type, bundle, created_at FROM evidence WHERE id = ?`), id).
		Scan(&e.ID, &e.Digest, &e.MediaType, &e.Bundle, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("%w: evidence %d", store.ErrNotFound, id)
	}
	if err != nil {
		return e, fmt.Errorf("store: evidence: %w", err)
	}
	e.CreatedAt = fromMicro(created)
	e.Facts, err = s.facts(ctx, `SELECT evidence_id, predicate_type, subject, signer, time FROM facts WHERE evidence_id = ? ORDER BY id`, id)
	return e, err
}

func (s *DB) facts(ctx context.Context, query string, args ...any) ([]store.Fact, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: facts: %w", err)
	}
	defer rows.Close()
	var out []store.Fact
	for rows.Next() {
		var f store.Fact
		var t int64
		if err := rows.Scan(&f.EvidenceID, &f.PredicateType, &f.Subject, &f.Signer, &t); err != nil {
			return nil, fmt.Errorf("store: facts: %w", err)
		}
		f.Time = fromMicro(t)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: facts: %w", err)
	}
	return out, nil
}

// Facts implements store.Store.
func (s *DB) Facts(ctx context.Context, q store.FactQuery) ([]store.Fact, error) {
	var where []string
	var args []any
	if q.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, q.Subject)
	}
	if q.PredicateType != "" {
		where, args = append(where, "predicate_type = ?"), append(args, q.PredicateType)
	}
	if q.Signer != "" {
		where, args = append(where, "signer = ?"), append(args, q.Signer)
	}
	query := `SELECT evidence_id, predicate_type, subject, signer, time FROM facts`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY time DESC, id DESC LIMIT ` + strconv.Itoa(clamp(q.Limit, 100, 1000))
	return s.facts(ctx, query, args...)
}

// ---- lineage

// AddEdge implements store.Store.
func (s *DB) AddEdge(ctx context.Context, e store.Edge, actor string) error {
	if err := checkDigest(e.From); err != nil {
		return err
	}
	if err := checkDigest(e.To); err != nil {
		return err
	}
	if e.From == e.To {
		return invalid("lineage edge from %s to itself", e.From)
	}
	if err := checkText("relation", e.Relation, true); err != nil {
		return err
	}
	if err := checkText("actor", actor, true); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		t, now := s.stamp()
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO edges (from_digest, to_digest, relation, evidence_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (from_digest, to_digest, relation) DO NOTHING`),
			e.From, e.To, e.Relation, e.EvidenceID, now)
		if err != nil {
			return fmt.Errorf("store: add edge: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.audit(ctx, tx, t, actor, "lineage.add", string(e.From), map[string]string{
			"to": string(e.To), "relation": e.Relation, "evidence_id": strconv.FormatInt(e.EvidenceID, 10),
		})
	})
}

// Lineage implements store.Store.
func (s *DB) Lineage(ctx context.Context, d store.Digest, dir store.Direction, depth int) ([]store.Edge, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	if depth <= 0 || depth > 16 {
		depth = 16
	}
	near, far := "from_digest", "to_digest"
	if dir == store.Downstream {
		near, far = far, near
	}
	seen := map[store.Digest]bool{d: true}
	frontier := []store.Digest{d}
	var out []store.Edge
	for hop := 0; hop < depth && len(frontier) > 0; hop++ {
		var next []store.Digest
		for chunk := range slices.Chunk(frontier, 500) {
			args := make([]any, len(chunk))
			for i, x := range chunk {
				args[i] = x
			}
			query := `SELECT from_digest, to_digest, relation, evidence_id, created_at FROM edges WHERE ` + near +
				` IN (?` + strings.Repeat(", ?", len(chunk)-1) + `) ORDER BY ` + near + `, ` + far + `, relation`
			rows, err := s.db.QueryContext(ctx, s.q(query), args...)
			if err != nil {
				return nil, fmt.Errorf("store: lineage: %w", err)
			}
			for rows.Next() {
				var e store.Edge
				var created int64
				if err := rows.Scan(&e.From, &e.To, &e.Relation, &e.EvidenceID, &created); err != nil {
					rows.Close()
					return nil, fmt.Errorf("store: lineage: %w", err)
				}
				e.CreatedAt = fromMicro(created)
				out = append(out, e)
				other := e.To
				if dir == store.Downstream {
					other = e.From
				}
				if !seen[other] {
					seen[other] = true
					next = append(next, other)
				}
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("store: lineage: %w", err)
			}
			if len(out) > maxLineageEdges {
				return out[:maxLineageEdges], nil
			}
		}
		frontier = next
	}
	return out, nil
}

// ---- findings

// ReplaceFindings implements store.Store.
func (s *DB) ReplaceFindings(ctx context.Context, artifact store.Digest, source string, fs []mlsec.Finding, actor string) error {
	if err := checkFindings(artifact, source, fs, actor); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getArtifact(ctx, tx, artifact, true); err != nil {
			return err
		}
		return s.replaceFindingsTx(ctx, tx, artifact, source, fs, actor)
	})
}

func checkFindings(artifact store.Digest, source string, fs []mlsec.Finding, actor string) error {
	if err := checkDigest(artifact); err != nil {
		return err
	}
	if err := checkText("source", source, true); err != nil {
		return err
	}
	if err := checkText("actor", actor, true); err != nil {
		return err
	}
	if len(fs) > MaxFindings {
		return invalid("more than %d findings", MaxFindings)
	}
	return nil
}

func (s *DB) replaceFindingsTx(ctx context.Context, tx *sql.Tx, artifact store.Digest, source string, fs []mlsec.Finding, actor string) error {
	t, now := s.stamp()
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM findings WHERE artifact = ? AND source = ?`), artifact, source)
	if err != nil {
		return fmt.Errorf("store: findings: %w", err)
	}
	removed, _ := res.RowsAffected()
	if len(fs) > 0 {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO findings (artifact, source, rule_id, severity, message, path, member, byte_offset, subject, mappings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return fmt.Errorf("store: findings: %w", err)
		}
		defer stmt.Close()
		for _, f := range fs {
			m, err := json.Marshal(f.Mappings)
			if err != nil {
				return fmt.Errorf("store: findings: %w", err)
			}
			if _, err := stmt.ExecContext(ctx, artifact, source, f.RuleID, int64(f.Severity), f.Message, f.Path, f.Location.Member, f.Location.Offset, f.Subject, string(m), now); err != nil {
				return fmt.Errorf("store: findings: %w", err)
			}
		}
	}
	return s.audit(ctx, tx, t, actor, "findings.replace", string(artifact), map[string]string{
		"source": source, "count": strconv.Itoa(len(fs)), "removed": strconv.FormatInt(removed, 10),
		"max_severity": mlsec.MaxSeverity(fs).String(),
	})
}

// RecordScan implements store.Store.
func (s *DB) RecordScan(ctx context.Context, r store.ScanRecord) (store.Artifact, error) {
	if err := checkArtifact(r.Artifact, r.Actor); err != nil {
		return r.Artifact, err
	}
	if err := checkFindings(r.Artifact.Digest, r.Source, r.Findings, r.Actor); err != nil {
		return r.Artifact, err
	}
	var out store.Artifact
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if r.HubScanID != 0 {
			// Item first: it takes no lock that the audit append would
			// have to wait behind.
			if err := s.completeItemTx(ctx, tx, r.HubScanID, r.Item, store.ItemResult{Artifact: r.Artifact.Digest, Findings: len(r.Findings)}); err != nil {
				return err
			}
		}
		var err error
		if out, _, err = s.putArtifactTx(ctx, tx, r.Artifact, r.Actor); err != nil {
			return err
		}
		return s.replaceFindingsTx(ctx, tx, r.Artifact.Digest, r.Source, r.Findings, r.Actor)
	})
	return out, err
}

// Findings implements store.Store.
func (s *DB) Findings(ctx context.Context, q store.FindingQuery) ([]store.StoredFinding, error) {
	var where []string
	var args []any
	if q.Artifact != "" {
		where, args = append(where, "artifact = ?"), append(args, q.Artifact)
	}
	if q.RuleID != "" {
		where, args = append(where, "rule_id = ?"), append(args, q.RuleID)
	}
	if q.MinSeverity > mlsec.SeverityNone {
		where, args = append(where, "severity >= ?"), append(args, int64(q.MinSeverity))
	}
	query := `SELECT id, artifact, source, rule_id, severity, message, path, member, byte_offset, subject, mappings, created_at FROM findings`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY severity DESC, id LIMIT ` + strconv.Itoa(clamp(q.Limit, 100, 1000))
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: findings: %w", err)
	}
	defer rows.Close()
	var out []store.StoredFinding
	for rows.Next() {
		var f store.StoredFinding
		var sev, created int64
		var mappings string
		if err := rows.Scan(&f.ID, &f.Artifact, &f.Source, &f.Finding.RuleID, &sev, &f.Finding.Message, &f.Finding.Path,
			&f.Finding.Location.Member, &f.Finding.Location.Offset, &f.Finding.Subject, &mappings, &created); err != nil {
			return nil, fmt.Errorf("store: findings: %w", err)
		}
		f.Finding.Severity = mlsec.Severity(sev)
		if err := json.Unmarshal([]byte(mappings), &f.Finding.Mappings); err != nil {
			return nil, fmt.Errorf("store: findings: mappings: %w", err)
		}
		f.CreatedAt = fromMicro(created)
		out = append(out, f)
	}
	return out, rows.Err()
}

// FindingCounts implements store.Store.
func (s *DB) FindingCounts(ctx context.Context, artifact store.Digest) (map[mlsec.Severity]int, error) {
	if err := checkDigest(artifact); err != nil {
		return nil, err
	}
	return s.severityCounts(ctx, `SELECT severity, COUNT(*) FROM findings WHERE artifact = ? GROUP BY severity`, artifact)
}

func (s *DB) severityCounts(ctx context.Context, query string, args ...any) (map[mlsec.Severity]int, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: finding counts: %w", err)
	}
	defer rows.Close()
	out := map[mlsec.Severity]int{}
	for rows.Next() {
		var sev, n int64
		if err := rows.Scan(&sev, &n); err != nil {
			return nil, fmt.Errorf("store: finding counts: %w", err)
		}
		out[mlsec.Severity(sev)] = int(n)
	}
	return out, rows.Err()
}

// ---- tokens

// TokenPrefix starts every API token secret.
const TokenPrefix = "mlsec_"

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken implements store.Store.
func (s *DB) CreateToken(ctx context.Context, nt store.NewToken) (string, store.Token, error) {
	if err := checkText("token name", nt.Name, true); err != nil {
		return "", store.Token{}, err
	}
	if err := checkText("actor", nt.Actor, true); err != nil {
		return "", store.Token{}, err
	}
	if !nt.Role.Valid() {
		return "", store.Token{}, invalid("unknown role %q", nt.Role)
	}
	if nt.TTL < 0 {
		return "", store.Token{}, invalid("negative token lifetime")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", store.Token{}, fmt.Errorf("store: token: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	tok := store.Token{Name: nt.Name, Role: nt.Role}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, now := s.stamp()
		tok.CreatedAt = t
		var expires *int64
		if nt.TTL > 0 {
			e := t.Add(nt.TTL)
			tok.ExpiresAt = &e
			v := e.UnixMicro()
			expires = &v
		}
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO tokens (name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			nt.Name, nt.Role, hashSecret(secret), now, expires).Scan(&tok.ID); err != nil {
			return fmt.Errorf("store: token: %w", err)
		}
		detail := map[string]string{"name": nt.Name, "role": string(nt.Role)}
		if tok.ExpiresAt != nil {
			detail["expires_at"] = tok.ExpiresAt.Format(time.RFC3339)
		}
		return s.audit(ctx, tx, t, nt.Actor, "token.create", "token:"+strconv.FormatInt(tok.ID, 10), detail)
	})
	if err != nil {
		return "", store.Token{}, err
	}
	return secret, tok, nil
}

func scanToken(r scanner) (store.Token, error) {
	var t store.Token
	var created int64
	var expires, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &t.Role, &created, &expires, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt = fromMicro(created)
	if expires.Valid {
		v := fromMicro(expires.Int64)
		t.ExpiresAt = &v
	}
	if revoked.Valid {
		v := fromMicro(revoked.Int64)
		t.RevokedAt = &v
	}
	return t, nil
}

// Authenticate implements store.Store.
func (s *DB) Authenticate(ctx context.Context, secret string) (store.Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return store.Token{}, fmt.Errorf("%w: malformed token", store.ErrUnauthorized)
	}
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q(`SELECT id, name, role, created_at, expires_at, revoked_at FROM tokens WHERE hash = ?`), hashSecret(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("%w: unknown token", store.ErrUnauthorized)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("store: authenticate: %w", err)
	}
	if t.RevokedAt != nil {
		return store.Token{}, fmt.Errorf("%w: token %d revoked", store.ErrUnauthorized, t.ID)
	}
	if t.ExpiresAt != nil && !s.now().Before(*t.ExpiresAt) {
		return store.Token{}, fmt.Errorf("%w: token %d expired", store.ErrUnauthorized, t.ID)
	}
	return t, nil
}

// RevokeToken implements store.Store.
func (s *DB) RevokeToken(ctx context.Context, id int64, actor string) error {
	if err := checkText("actor", actor, true); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, s.q(`SELECT revoked_at FROM tokens WHERE id = ?`+s.d.ForUpdate), id).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: token %d", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		if revoked.Valid {
			return nil
		}
		t, now := s.stamp()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tokens SET revoked_at = ? WHERE id = ?`), now, id); err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		return s.audit(ctx, tx, t, actor, "token.revoke", "token:"+strconv.FormatInt(id, 10), nil)
	})
}

// Tokens implements store.Store.
func (s *DB) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, role, created_at, expires_at, revoked_at FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ---- hub scans

// CreateHubScan implements store.Store.
func (s *DB) CreateHubScan(ctx context.Context, root string, paths []string, actor string) (store.HubScan, error) {
	if err := checkText("root", root, true); err != nil {
		return store.HubScan{}, err
	}
	if err := checkText("actor", actor, true); err != nil {
		return store.HubScan{}, err
	}
	if len(paths) > MaxHubItems {
		return store.HubScan{}, invalid("more than %d hub scan items", MaxHubItems)
	}
	uniq := slices.Clone(paths)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	for _, p := range uniq {
		if err := checkText("item path", p, true); err != nil {
			return store.HubScan{}, err
		}
	}
	h := store.HubScan{Root: root, Status: store.HubScanRunning, Total: len(uniq), Actor: actor}
	if len(uniq) == 0 {
		h.Status = store.HubScanDone
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, now := s.stamp()
		h.CreatedAt, h.UpdatedAt = t, t
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO hub_scans (root, status, total, actor, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			root, h.Status, h.Total, actor, now, now).Scan(&h.ID); err != nil {
			return fmt.Errorf("store: hub scan: %w", err)
		}
		for chunk := range slices.Chunk(uniq, 200) {
			args := make([]any, 0, 2*len(chunk))
			for _, p := range chunk {
				args = append(args, h.ID, p)
			}
			query := `INSERT INTO hub_scan_items (scan_id, path) VALUES (?, ?)` + strings.Repeat(", (?, ?)", len(chunk)-1)
			if _, err := tx.ExecContext(ctx, s.q(query), args...); err != nil {
				return fmt.Errorf("store: hub scan items: %w", err)
			}
		}
		return s.audit(ctx, tx, t, actor, "hubscan.create", "hubscan:"+strconv.FormatInt(h.ID, 10), map[string]string{
			"root": root, "total": strconv.Itoa(h.Total),
		})
	})
	return h, err
}

// CompleteHubScanItem implements store.Store.
func (s *DB) CompleteHubScanItem(ctx context.Context, scanID int64, path string, r store.ItemResult) error {
	if r.Artifact != "" {
		if err := checkDigest(r.Artifact); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.completeItemTx(ctx, tx, scanID, path, r) })
}

// completeItemTx records an item's result. Progress is counted from the
// items when read, so completing an item locks only its own row and a
// repeated completion simply overwrites it.
func (s *DB) completeItemTx(ctx context.Context, tx *sql.Tx, scanID int64, path string, r store.ItemResult) error {
	if r.Findings < 0 {
		return invalid("negative finding count")
	}
	if len(r.Error) > MaxText {
		r.Error = r.Error[:MaxText]
	}
	status := "done"
	if r.Error != "" {
		status = "failed"
	}
	_, now := s.stamp()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE hub_scan_items SET status = ?, artifact = ?, findings = ?, error = ?, updated_at = ? WHERE scan_id = ? AND path = ?`),
		status, r.Artifact, r.Findings, r.Error, now, scanID, path)
	if err != nil {
		return fmt.Errorf("store: hub scan item: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: hub scan %d has no item %q", store.ErrNotFound, scanID, path)
	}
	return nil
}

const hubScanCols = `id, root, total, actor, created_at`

func scanHubScan(r scanner) (store.HubScan, error) {
	var h store.HubScan
	var created int64
	err := r.Scan(&h.ID, &h.Root, &h.Total, &h.Actor, &created)
	h.CreatedAt = fromMicro(created)
	h.UpdatedAt = h.CreatedAt
	return h, err
}

// progress fills h's counters and status from its items.
func (s *DB) progress(ctx context.Context, h *store.HubScan) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT status, COUNT(*), COALESCE(SUM(findings), 0), COALESCE(MAX(updated_at), 0) FROM hub_scan_items WHERE scan_id = ? GROUP BY status`), h.ID)
	if err != nil {
		return fmt.Errorf("store: hub scan progress: %w", err)
	}
	defer rows.Close()
	pending := 0
	for rows.Next() {
		var status string
		var n, findings, updated int64
		if err := rows.Scan(&status, &n, &findings, &updated); err != nil {
			return fmt.Errorf("store: hub scan progress: %w", err)
		}
		switch status {
		case "pending":
			pending += int(n)
		case "failed":
			h.Failed += int(n)
			h.Done += int(n)
		default:
			h.Done += int(n)
		}
		h.Findings += int(findings)
		if t := fromMicro(updated); t.After(h.UpdatedAt) {
			h.UpdatedAt = t
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: hub scan progress: %w", err)
	}
	h.Status = store.HubScanRunning
	if pending == 0 {
		h.Status = store.HubScanDone
	}
	return nil
}

// HubScan implements store.Store.
func (s *DB) HubScan(ctx context.Context, id int64) (store.HubScan, error) {
	h, err := scanHubScan(s.db.QueryRowContext(ctx, s.q(`SELECT `+hubScanCols+` FROM hub_scans WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("%w: hub scan %d", store.ErrNotFound, id)
	}
	if err != nil {
		return h, fmt.Errorf("store: hub scan: %w", err)
	}
	return h, s.progress(ctx, &h)
}

// HubScans implements store.Store.
func (s *DB) HubScans(ctx context.Context, limit int) ([]store.HubScan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+hubScanCols+` FROM hub_scans ORDER BY id DESC LIMIT `+strconv.Itoa(clamp(limit, 100, 1000)))
	if err != nil {
		return nil, fmt.Errorf("store: hub scans: %w", err)
	}
	var out []store.HubScan
	for rows.Next() {
		h, err := scanHubScan(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: hub scans: %w", err)
		}
		out = append(out, h)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("store: hub scans: %w", err)
	}
	for i := range out {
		if err := s.progress(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// HubScanItems implements store.Store.
func (s *DB) HubScanItems(ctx context.Context, scanID int64, status string, limit int) ([]store.HubScanItem, error) {
	query := `SELECT scan_id, path, status, artifact, findings, error FROM hub_scan_items WHERE scan_id = ?`
	args := []any{scanID}
	if status != "" {
		query += ` AND status = ?`
		args = append(args, status)
	}
	query += ` ORDER BY path LIMIT ` + strconv.Itoa(clamp(limit, 100, 100_000))
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: hub scan items: %w", err)
	}
	defer rows.Close()
	var out []store.HubScanItem
	for rows.Next() {
		var it store.HubScanItem
		if err := rows.Scan(&it.ScanID, &it.Path, &it.Status, &it.Artifact, &it.Findings, &it.Error); err != nil {
			return nil, fmt.Errorf("store: hub scan items: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// ---- audit

// Audit implements store.Store.
func (s *DB) Audit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	if err := checkText("actor", e.Actor, true); err != nil {
		return e, err
	}
	if err := checkText("action", e.Action, true); err != nil {
		return e, err
	}
	if err := checkText("subject", e.Subject, false); err != nil {
		return e, err
	}
	if len(e.Detail) > 100 {
		return e, invalid("more than 100 detail entries")
	}
	e.Time = time.Time{}
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, &e) })
	return e, err
}

func scanAudit(r scanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	var t int64
	var detail string
	if err := r.Scan(&e.Seq, &t, &e.Actor, &e.Action, &e.Subject, &detail, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Time = fromMicro(t)
	if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
		// A detail that no longer parses is tampering: keep the raw text so
		// the hash check fails on this entry rather than erroring out.
		e.Detail = map[string]string{"\x00unparsable": detail}
	}
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	return e, nil
}

// AuditLog implements store.Store.
func (s *DB) AuditLog(ctx context.Context, after int64, limit int) ([]store.AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT seq, time, actor, action, subject, detail, prev_hash, hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT `+strconv.Itoa(clamp(limit, 100, 10_000))), after)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("store: audit log: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyAudit implements store.Store.
func (s *DB) VerifyAudit(ctx context.Context) (int64, error) {
	// Read the head and the log in one snapshot, without blocking writers:
	// a REPEATABLE READ transaction on PostgreSQL, a deferred (reading)
	// transaction on SQLite, whose write transactions are otherwise
	// IMMEDIATE.
	var q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}
	if s.d.Name == "sqlite" {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("store: verify audit: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
			return 0, fmt.Errorf("store: verify audit: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		q = conn
	} else {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
		if err != nil {
			return 0, fmt.Errorf("store: verify audit: %w", err)
		}
		defer tx.Rollback()
		q = tx
	}
	var headSeq int64
	var headHash string
	if err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return 0, fmt.Errorf("store: verify audit: head: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, time, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	defer rows.Close()
	var v store.ChainVerifier
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return 0, fmt.Errorf("store: verify audit: %w", err)
		}
		if err := v.Next(e); err != nil {
			return e.Seq - 1, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	return v.End(headSeq, headHash)
}

// ---- stats

// Stats implements store.Store.
func (s *DB) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{ByState: map[store.TrustState]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM artifacts GROUP BY state`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			rows.Close()
			return st, fmt.Errorf("store: stats: %w", err)
		}
		st.ByState[store.TrustState(state)] = n
		st.Artifacts += n
	}
	rows.Close()
	if st.Findings, err = s.severityCounts(ctx, `SELECT severity, COUNT(*) FROM findings GROUP BY severity`); err != nil {
		return st, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM evidence), (SELECT COUNT(*) FROM decisions)`).Scan(&st.Evidence, &st.Decisions); err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	return st, nil
}
