-- The rate limits' counters (src/middleware/limit-stores.ts) for a shop whose sessions are here:
-- every instance, on every machine, counts in this one table, so N instances allow what one allows.
-- The window is counted by the database's clock, so the instances' clocks do not matter.
CREATE TABLE IF NOT EXISTS rate_limits (
  key       text    NOT NULL PRIMARY KEY,   -- "<limit>:<client or account>"
  hits      integer NOT NULL,               -- attempts counted in the current window
  reset_at  bigint  NOT NULL                -- epoch ms (the database's clock): when the window ends
);
CREATE INDEX IF NOT EXISTS rate_limits_by_reset ON rate_limits (reset_at);
