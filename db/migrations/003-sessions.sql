-- The sessions table: one row per visitor who has stored something (lazy creation).
-- The primary key is the SHA-256 of the random ID in the cookie, never the ID itself:
-- a leaked copy of this table yields no cookie that works.
CREATE TABLE sessions (
  id_hash      TEXT    NOT NULL PRIMARY KEY,             -- hex sha256(session ID)
  data         TEXT    NOT NULL,                         -- JSON: { "cart": [{ "productId", "quantity" }] }
  user_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,  -- NULL for guests; never the session key
  created_at   INTEGER NOT NULL,                         -- epoch ms; the absolute timeout counts from here
  last_seen_at INTEGER NOT NULL,                         -- epoch ms; the idle timeout counts from here
  expires_at   INTEGER NOT NULL,                         -- epoch ms; min(idle end, absolute end)
  user_agent   TEXT                                      -- for "your active sessions"; shown only to the owner
) STRICT, WITHOUT ROWID;

-- The cleanup job deletes "WHERE expires_at <= now" in batches: this index makes each batch cheap.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
-- "Your active sessions" and "sign out other devices" look sessions up by user.
CREATE INDEX sessions_user_id ON sessions (user_id);
