-- The carts of signed-in shoppers, kept with the account and not in `sessions`: when a session
-- ends (sign-out, expiry, revocation, a restart of the memory store), its row here is the saved
-- cart, merged into the session at the account's next sign-in and deleted then. One row per
-- session, keyed like `sessions` by the SHA-256 of the session ID, so two devices signed in at
-- once each keep their own cart, and a session that ends is saved exactly once.
CREATE TABLE saved_carts (
  session_key TEXT    NOT NULL PRIMARY KEY,       -- hex sha256(session ID), as in sessions
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  cart        TEXT    NOT NULL,                   -- JSON: [{ "productId", "quantity", "note"? }]
  created_at  INTEGER NOT NULL,                   -- epoch ms: the session's start (absolute timeout)
  expires_at  INTEGER NOT NULL,                   -- epoch ms: the session's end as last known
  updated_at  INTEGER NOT NULL                    -- epoch ms: when the cart last changed ("newest wins")
) STRICT, WITHOUT ROWID;
CREATE INDEX saved_carts_user_id ON saved_carts (user_id);

-- Why a session ended, when it was ended on purpose (signed out, signed out from another device,
-- password changed, revoked by the instructor), so the next request bearing its cookie can say so
-- once. Expiry needs no row: the session's own times tell. Kept only as long as a cookie can live.
CREATE TABLE session_endings (
  session_key TEXT    NOT NULL PRIMARY KEY,       -- hex sha256(session ID)
  reason      TEXT    NOT NULL,                   -- signed-out | other-device | password-changed | instructor
  ended_at    INTEGER NOT NULL                    -- epoch ms
) STRICT, WITHOUT ROWID;
CREATE INDEX session_endings_ended_at ON session_endings (ended_at);
