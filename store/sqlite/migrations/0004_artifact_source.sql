-- Admission webhooks look artifacts up by their registered source URI.
CREATE INDEX IF NOT EXISTS artifacts_source ON artifacts (source);
