package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/mlsecops/mlsec/store"
)

// appendAudit adds e to the chain inside tx.
func (s *DB) appendAudit(ctx context.Context, tx *sql.Tx, e *store.AuditEntry) error {
	if s.d.AuditAppend != "" {
		return s.appendAuditOne(ctx, tx, e)
	}
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

// seqPrefix starts the canonical form of an entry whose Seq is 0.
var seqPrefix = []byte(`{"seq":0`)

// appendAuditOne adds e to the chain inside tx with Dialect.AuditAppend:
// one round trip that advances the head and inserts the row. The
// database hashes prev || `{"seq":N` || rest, where rest is the entry's
// canonical form after the sequence number, computed here; the hash it
// returns is recomputed here too, so a database that hashed differently
// fails the write instead of storing a chain that does not verify.
func (s *DB) appendAuditOne(ctx context.Context, tx *sql.Tx, e *store.AuditEntry) error {
	rest, detail, err := s.auditRest(e)
	if err != nil {
		return err
	}
	var hash string
	if err := tx.QueryRowContext(ctx, s.d.AuditAppend, rest, e.Time.UnixMicro(), e.Actor, e.Action, e.Subject, detail).Scan(&e.Seq, &e.PrevHash, &hash); err != nil {
		return fmt.Errorf("store: audit append: %w", err)
	}
	return checkAuditHash(e, hash)
}

// auditRest stamps e (if it has no time) and returns its canonical form
// after `{"seq":N` and its detail as stored.
func (s *DB) auditRest(e *store.AuditEntry) (rest []byte, detail string, err error) {
	if e.Time.IsZero() {
		e.Time, _ = s.stamp()
	}
	e.Time = store.AuditTime(e.Time)
	e.Seq = 0
	rest, ok := bytes.CutPrefix(store.CanonicalAudit(*e), seqPrefix)
	if !ok {
		return nil, "", fmt.Errorf("store: audit append: canonical form does not start with %s", seqPrefix)
	}
	d, err := json.Marshal(orEmpty(e.Detail))
	if err != nil {
		return nil, "", fmt.Errorf("store: audit detail: %w", err)
	}
	return rest, string(d), nil
}

// checkAuditHash recomputes the hash of e (its Seq and PrevHash as the
// database assigned them) and sets e.Hash if the database's hash matches.
func checkAuditHash(e *store.AuditEntry, hash string) error {
	want, err := store.AuditHash(e.PrevHash, *e)
	if err != nil {
		return fmt.Errorf("store: audit append: %w", err)
	}
	if hash != want {
		return fmt.Errorf("store: audit append: entry %d: the database computed hash %s, want %s", e.Seq, hash, want)
	}
	e.Hash = hash
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
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT seq, time, actor, action, subject, detail, prev_hash, hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT `+strconv.Itoa(clamp(limit, 100, 10_000))), after)
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
