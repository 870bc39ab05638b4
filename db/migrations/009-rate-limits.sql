-- The rate limits' counters (src/middleware/limit-stores.ts), in the shop's database so that every
-- process on it counts together: three instances on one file allow what one allows. Only failed
-- attempts stay counted (a success is taken back), so a row is a client or an account that got a
-- password wrong; a row past its window is reset at its next use and removed by the limits' own sweep.
CREATE TABLE rate_limits (
  key       TEXT PRIMARY KEY,     -- "<limit>:<client or account>"
  hits      INTEGER NOT NULL,     -- attempts counted in the current window
  reset_at  INTEGER NOT NULL      -- epoch ms: when the window ends
) STRICT;
CREATE INDEX rate_limits_by_reset ON rate_limits (reset_at);
