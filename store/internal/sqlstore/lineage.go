package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/store"
)

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
			rows, err := s.rd.QueryContext(ctx, s.q(query), args...)
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
