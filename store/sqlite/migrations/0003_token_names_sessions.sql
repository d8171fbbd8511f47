-- Token names identify their holder in the audit log: make them unique.
-- Earlier duplicates keep the oldest name; later ones become NAME#ID.
UPDATE tokens SET name = name || '#' || CAST(id AS TEXT)
WHERE id NOT IN (SELECT MIN(id) FROM tokens GROUP BY name);
CREATE UNIQUE INDEX tokens_name ON tokens (name);

-- Dashboard sign-ins: a server-side session per sign-in, never the API
-- token itself. Only the sha256 of the session id is stored.
CREATE TABLE ui_sessions (
	hash       TEXT PRIMARY KEY,
	token_id   INTEGER NOT NULL REFERENCES tokens (id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX ui_sessions_token ON ui_sessions (token_id);
