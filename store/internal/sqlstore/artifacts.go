package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/store"
)

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
	if s.creates != nil {
		out, created, err := s.createBatched(ctx, a, actor)
		if err != nil || created {
			return out, created, err
		}
		// The digest exists: merge as below.
	}
	return s.putArtifactSingle(ctx, a, actor)
}

// putArtifactSingle registers or merges a in a transaction of its own.
func (s *DB) putArtifactSingle(ctx context.Context, a store.Artifact, actor string) (store.Artifact, bool, error) {
	var out store.Artifact
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, created, err = s.putArtifactTx(ctx, tx, a, actor)
		return err
	})
	return out, created, err
}

// createDetail is the detail of an artifact.create audit entry.
func createDetail(a store.Artifact) map[string]string {
	return map[string]string{"name": a.Name, "version": a.Version, "kind": a.Kind, "source": a.Source, "size": strconv.FormatInt(a.Size, 10)}
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
		if err := s.audit(ctx, tx, t, actor, "artifact.create", string(a.Digest), createDetail(a)); err != nil {
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
	return s.getArtifact(ctx, s.rd, d, false)
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
	rows, err := s.rd.QueryContext(ctx, s.q(query), args...)
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
	if q.Source != "" {
		add("source = ?", q.Source)
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
