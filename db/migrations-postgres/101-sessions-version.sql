-- A version per session row, for the store's one-statement write (src/session/stores/postgres-store.ts):
-- a write computed from the row as read at version v is sent as
--   UPDATE sessions SET data = …, version = version + 1 WHERE id_hash = $1 AND version = v AND <live>
-- and changes nothing (zero rows: the store falls back to its locked transaction) when another write
-- landed since. Every update and rekey adds one; a touch only moves the times and leaves it.
-- Numbered 101, not 003: the 1xx series is the sessions table's, so the shop's own tables on
-- PostgreSQL can take 003 onwards without a clash (each number is recorded on its own).
-- A constant default: PostgreSQL 11+ adds the column without rewriting the table (rows read it as 0).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
