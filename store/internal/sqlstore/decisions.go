package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/mlsecops/mlsec/store"
)

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
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT id, artifact, stage, policy, result, reasons, evidence_id, from_state, to_state, actor, created_at FROM decisions WHERE artifact = ? ORDER BY id`), d)
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
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT artifact, from_state, to_state, via, decision_id, actor, reason, created_at FROM state_changes WHERE artifact = ? ORDER BY id`), d)
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
