-- Hub scan items remember when they finished (progress is counted from items).
ALTER TABLE hub_scan_items ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
