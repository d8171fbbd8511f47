-- The audit chain is appended with one statement (see sqlstore's
-- appendAuditOne): the head row keeps the hash it replaced so that
-- UPDATE ... RETURNING can hand both links to the new log row.
ALTER TABLE audit_head ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
