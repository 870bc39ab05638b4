-- Instructor passes, kept on the server so that "Leave the dashboard" really ends one (a copied
-- pass cookie is dead), and so that an unattended dashboard times out. Like sessions, keyed by the
-- SHA-256 of the random token in the cookie, never the token itself. Timed by the real clock.
CREATE TABLE instructor_passes (
  id_hash      TEXT    NOT NULL PRIMARY KEY,  -- hex sha256(pass token)
  created_at   INTEGER NOT NULL,              -- epoch ms; the pass ends 8 h after this at the latest
  last_seen_at INTEGER NOT NULL               -- epoch ms; and 30 min after this without use
) STRICT, WITHOUT ROWID;
