-- Session data is sealed at rest from this version on (src/session/seal.ts): the `data` column of
-- `sessions` holds {"sealed":"v1.<nonce>.<AES-256-GCM ciphertext and tag>"} instead of the cart as
-- JSON. The key is derived from the session ID in the shopper's cookie, which this database has
-- never held, so no SQL can seal the rows already here: a migration cannot re-seal them, and
-- dropping them would empty the cart of every shopper on the day of the upgrade. So plaintext rows
-- stay readable (seal.ts opens a record without "sealed" as it is) and are sealed at their next
-- write; those never written again end with their session (idle or absolute timeout) and the cleanup
-- job removes them. `SELECT count(*) FROM sessions WHERE data NOT LIKE '{"sealed":%'` counts them.
--
-- The statement below changes no data: it records the new format in the schema, so that a reader of
-- `sqlite3 shop.sqlite .schema` sees it next to the table (SQLite keeps comments of CREATE statements).
CREATE VIEW sessions_not_sealed_yet AS
  SELECT id_hash, expires_at FROM sessions WHERE data NOT LIKE '{"sealed":%'; -- rows from before 008, sealed at their next write
