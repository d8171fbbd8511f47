package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/store"
)

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
		if err := s.rd.QueryRowContext(ctx, s.q(`SELECT id FROM evidence WHERE digest = ?`), e.Digest).Scan(&id); err != nil {
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
	err := s.rd.QueryRowContext(ctx, s.q(`SELECT id, digest, media_type, bundle, created_at FROM evidence WHERE id = ?`), id).
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
	rows, err := s.rd.QueryContext(ctx, s.q(query), args...)
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
