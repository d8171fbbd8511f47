-- mlsec store schema, SQLite dialect. Times are Unix microseconds (UTC).
CREATE TABLE artifacts (
	digest     TEXT PRIMARY KEY,
	name       TEXT NOT NULL DEFAULT '',
	version    TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL DEFAULT '',
	directory  INTEGER NOT NULL DEFAULT 0,
	size       INTEGER NOT NULL DEFAULT 0,
	source     TEXT NOT NULL DEFAULT '',
	blob       INTEGER NOT NULL DEFAULT 0,
	state      TEXT NOT NULL CHECK (state IN ('quarantined','verified','released','revoked')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX artifacts_name ON artifacts (name, version);
CREATE INDEX artifacts_state ON artifacts (state);

CREATE TABLE state_changes (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	artifact    TEXT NOT NULL REFERENCES artifacts (digest),
	from_state  TEXT NOT NULL,
	to_state    TEXT NOT NULL,
	via         TEXT NOT NULL,
	decision_id INTEGER NOT NULL DEFAULT 0,
	actor       TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
CREATE INDEX state_changes_artifact ON state_changes (artifact, id);

CREATE TABLE decisions (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	artifact    TEXT NOT NULL REFERENCES artifacts (digest),
	stage       TEXT NOT NULL,
	policy      TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL,
	reasons     TEXT NOT NULL DEFAULT '[]',
	evidence_id INTEGER NOT NULL DEFAULT 0,
	from_state  TEXT NOT NULL DEFAULT '',
	to_state    TEXT NOT NULL DEFAULT '',
	actor       TEXT NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX decisions_artifact ON decisions (artifact, id);

CREATE TABLE evidence (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	digest     TEXT NOT NULL UNIQUE,
	media_type TEXT NOT NULL DEFAULT '',
	bundle     BLOB NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE facts (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	evidence_id    INTEGER NOT NULL REFERENCES evidence (id),
	predicate_type TEXT NOT NULL,
	subject        TEXT NOT NULL,
	signer         TEXT NOT NULL DEFAULT '',
	time           INTEGER NOT NULL
);
CREATE INDEX facts_subject ON facts (subject, predicate_type, time);
CREATE INDEX facts_signer ON facts (signer);
CREATE INDEX facts_evidence ON facts (evidence_id);

CREATE TABLE edges (
	from_digest TEXT NOT NULL,
	to_digest   TEXT NOT NULL,
	relation    TEXT NOT NULL,
	evidence_id INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (from_digest, to_digest, relation)
);
CREATE INDEX edges_to ON edges (to_digest);

CREATE TABLE findings (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	artifact   TEXT NOT NULL REFERENCES artifacts (digest),
	source     TEXT NOT NULL,
	rule_id    TEXT NOT NULL,
	severity   INTEGER NOT NULL,
	message    TEXT NOT NULL DEFAULT '',
	path       TEXT NOT NULL DEFAULT '',
	member     TEXT NOT NULL DEFAULT '',
	byte_offset INTEGER NOT NULL DEFAULT -1,
	subject    TEXT NOT NULL DEFAULT '',
	mappings   TEXT NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL
);
CREATE INDEX findings_artifact ON findings (artifact, source);
CREATE INDEX findings_severity ON findings (artifact, severity);
CREATE INDEX findings_rule ON findings (rule_id);

CREATE TABLE tokens (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	revoked_at INTEGER
);

CREATE TABLE hub_scans (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	root       TEXT NOT NULL,
	status     TEXT NOT NULL,
	total      INTEGER NOT NULL DEFAULT 0,
	done       INTEGER NOT NULL DEFAULT 0,
	failed     INTEGER NOT NULL DEFAULT 0,
	findings   INTEGER NOT NULL DEFAULT 0,
	actor      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE hub_scan_items (
	scan_id  INTEGER NOT NULL REFERENCES hub_scans (id),
	path     TEXT NOT NULL,
	status   TEXT NOT NULL DEFAULT 'pending',
	artifact TEXT NOT NULL DEFAULT '',
	findings INTEGER NOT NULL DEFAULT 0,
	error    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (scan_id, path)
);
CREATE INDEX hub_scan_items_status ON hub_scan_items (scan_id, status);

CREATE TABLE audit_log (
	seq       INTEGER PRIMARY KEY,
	time      INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
-- The log is append-only: the database refuses updates and deletes. (Anyone
-- who can drop these triggers can still tamper; the hash chain detects it.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
