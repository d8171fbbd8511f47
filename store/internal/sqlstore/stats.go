package sqlstore

import (
	"context"
	"fmt"

	"github.com/mlsecops/mlsec/store"
)

// Stats implements store.Store.
func (s *DB) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{ByState: map[store.TrustState]int{}}
	rows, err := s.rd.QueryContext(ctx, `SELECT state, COUNT(*) FROM artifacts GROUP BY state`)
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
	if err := s.rd.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM evidence), (SELECT COUNT(*) FROM decisions)`).Scan(&st.Evidence, &st.Decisions); err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	return st, nil
}
