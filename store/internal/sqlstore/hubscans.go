package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/store"
)

// CreateHubScan implements store.Store.
func (s *DB) CreateHubScan(ctx context.Context, root string, paths []string, actor string) (store.HubScan, error) {
	if err := checkLength("root", root, true); err != nil {
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
		if err := checkLength("item path", p, true); err != nil {
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
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT status, COUNT(*), COALESCE(SUM(findings), 0), COALESCE(MAX(updated_at), 0) FROM hub_scan_items WHERE scan_id = ? GROUP BY status`), h.ID)
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
	h, err := scanHubScan(s.rd.QueryRowContext(ctx, s.q(`SELECT `+hubScanCols+` FROM hub_scans WHERE id = ?`), id))
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
	rows, err := s.rd.QueryContext(ctx, `SELECT `+hubScanCols+` FROM hub_scans ORDER BY id DESC LIMIT `+strconv.Itoa(clamp(limit, 100, 1000)))
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
	rows, err := s.rd.QueryContext(ctx, s.q(query), args...)
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
