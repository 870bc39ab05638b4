-- The sessions table of the PostgreSQL technique (SESSION_STORE=postgres): the same row as SQLite's
-- (db/migrations/003 and 008), in PostgreSQL's types. The key is the SHA-256 of the cookie's random
-- ID, never the ID: a leaked table or backup yields no cookie that works. `data` holds the sealed
-- blob ({"sealed":"v1…"}, src/session/seal.ts), not the cart.
-- No foreign key to users: the accounts live in the shop's SQLite file, another database.
CREATE TABLE IF NOT EXISTS sessions (
  id_hash      text    NOT NULL PRIMARY KEY,   -- hex sha256(session ID)
  data         text    NOT NULL,               -- JSON: {"sealed": "..."}
  user_id      integer,                        -- NULL for guests; never the session key
  created_at   bigint  NOT NULL,               -- epoch ms; the absolute timeout counts from here
  last_seen_at bigint  NOT NULL,               -- epoch ms; the idle timeout counts from here
  expires_at   bigint  NOT NULL,               -- epoch ms; min(idle end, absolute end)
  user_agent   text                            -- for "your active sessions"; shown only to the owner
) WITH (fillfactor = 80);
-- fillfactor 80: a touch or a cart change rewrites the row; room on its page lets the new version
-- stay there (expires_at is indexed, so these updates are never HOT, but they stay page-local).

-- The cleanup batches walk this index oldest first (FOR UPDATE SKIP LOCKED, LIMIT n).
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
-- "Your active sessions" and "sign out other devices" look sessions up by user.
CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id) WHERE user_id IS NOT NULL;
