package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

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
	rows, err := s.rd.QueryContext(ctx, s.q(query), args...)
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
	rows, err := s.rd.QueryContext(ctx, s.q(query), args...)
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
