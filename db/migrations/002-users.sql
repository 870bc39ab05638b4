-- Accounts. Emails compare case-insensitively; the password is an scrypt hash string
-- ("scrypt$N$r$p$salt$hash") so its cost can be raised later without a migration.
CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT    NOT NULL,
  created_at    INTEGER NOT NULL                          -- epoch ms
) STRICT;
