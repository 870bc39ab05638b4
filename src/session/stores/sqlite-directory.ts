/**
 * The SQLite store's listings (directory.ts): "your active sessions" and the instructor's table.
 * Kept apart from stores/sqlite-store.ts so the lesson's core path stays short; technique.ts
 * spreads both into one ServerStore. Plain statements, no transactions: each is one read, or one
 * DELETE that is atomic on its own.
 */
import type { Db } from "../../db/open.ts";
import type { SessionDirectory } from "../directory.ts";
import { fromRow, SESSION_COLUMNS as columns, type SessionRow } from "./sqlite-store.ts";

export function createSqliteDirectory(db: Db): SessionDirectory {
  type Listed = SessionRow & { id_hash: string };
  const listRecent = db.prepare<[number], Listed>(`SELECT id_hash, ${columns} FROM sessions ORDER BY last_seen_at DESC LIMIT ?`);
  const countStats = db.prepare<[{ now: number }], { live: number; expired: number }>(
    "SELECT count(*) FILTER (WHERE expires_at > @now) AS live, count(*) FILTER (WHERE expires_at <= @now) AS expired FROM sessions",
  );
  const listUser = db.prepare<[number, number], Listed>(
    `SELECT id_hash, ${columns} FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY last_seen_at DESC`,
  );
  const deleteUserOne = db.prepare<[number, string]>("DELETE FROM sessions WHERE user_id = ? AND id_hash = ?");
  const deleteUserExcept = db.prepare<[number, string]>("DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?");
  const listed = (row: Listed) => ({ key: row.id_hash, ...fromRow(row) });
  return {
    async listByUser(userId, now) {
      return listUser.all(userId, now).map(listed);
    },
    async destroyForUser(userId, { only, except }) {
      if (only !== undefined) return deleteUserOne.run(userId, only).changes;
      return deleteUserExcept.run(userId, except ?? "").changes;
    },
    async listAll(limit) {
      return listRecent.all(limit).map(listed);
    },
    async stats(now) {
      return countStats.get({ now })!;
    },
  };
}
