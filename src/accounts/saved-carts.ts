/**
 * The account's saved cart (db/migrations/007): where a signed-in shopper's cart lives once the
 * session that held it has ended.
 *
 * Written through: every change a signed-in session makes to its cart is also written here under
 * the session's key (see account-storage.ts). That is what makes "kept when the session ends"
 * true for every way a session can end, including the ones the shop never hears about: Redis
 * expiring a key by itself, the memory store losing everything in a restart, a browser that never
 * comes back. A row whose session is still alive is that session's own cart and is left alone;
 * a row whose session has ended is the saved cart, and the next sign-in *claims* it.
 *
 * Claiming deletes the row in the same statement that reads it (DELETE … RETURNING), so two
 * sign-ins of one account at the same moment never both get it: no line is doubled. If the
 * sign-in then fails (the session store is down), the rows are put back: no line is lost.
 */
import type { Sql } from "../db/sql.ts";
import { translatingUnavailable } from "../db/unavailable.ts";
import type { CartLine } from "../session/types.ts";

export type EndReason = "signed-out" | "other-device" | "password-changed" | "instructor";

export interface SavedCartRow {
  sessionKey: string;
  userId: number;
  cart: CartLine[];
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

interface Row {
  session_key: string;
  user_id: number;
  cart: string;
  created_at: number;
  expires_at: number;
  updated_at: number;
}

const fromRow = (r: Row): SavedCartRow => ({
  sessionKey: r.session_key,
  userId: r.user_id,
  cart: JSON.parse(r.cart) as CartLine[],
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
});

export type SavedCarts = ReturnType<typeof createSavedCarts>;

export function createSavedCarts(db: Sql) {
  const insert = "INSERT INTO saved_carts (session_key, user_id, cart, created_at, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)";
  return translatingUnavailable({
    /** This session's cart, as it is now (the write-through). */
    async remember(sessionKey: string, userId: number, cart: readonly CartLine[], times: { createdAt: number; expiresAt: number; now: number }) {
      await db.run(
        `${insert}
         ON CONFLICT (session_key) DO UPDATE SET user_id = excluded.user_id, cart = excluded.cart, created_at = excluded.created_at,
           expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
        [sessionKey, userId, JSON.stringify(cart), times.createdAt, times.expiresAt, times.now],
      );
    },
    /** The session's end moved (a sliding touch): "expired?" is judged from this. */
    async touch(sessionKey: string, expiresAt: number) {
      await db.run("UPDATE saved_carts SET expires_at = ? WHERE session_key = ? AND expires_at < ?", [expiresAt, sessionKey, expiresAt]);
    },
    /** The account's rows, oldest change first: candidates for claiming. */
    listForUser: async (userId: number): Promise<SavedCartRow[]> =>
      (await db.all<Row>("SELECT * FROM saved_carts WHERE user_id = ? ORDER BY updated_at", [userId])).map(fromRow),
    /** Read and delete one row in one statement: at most one sign-in ever gets it. */
    async claim(sessionKey: string, userId: number): Promise<SavedCartRow | undefined> {
      const row = await db.get<Row>("DELETE FROM saved_carts WHERE session_key = ? AND user_id = ? RETURNING *", [sessionKey, userId]);
      return row && fromRow(row);
    },
    /** Put claimed rows back (the sign-in that claimed them failed). */
    async restore(rows: readonly SavedCartRow[]) {
      await db.transaction(async (tx) => {
        for (const r of rows) {
          await tx.run(`${insert} ON CONFLICT (session_key) DO NOTHING`, [
            r.sessionKey,
            r.userId,
            JSON.stringify(r.cart),
            r.createdAt,
            r.expiresAt,
            r.updatedAt,
          ]);
        }
      });
    },
    async find(sessionKey: string): Promise<SavedCartRow | undefined> {
      const row = await db.get<Row>("SELECT * FROM saved_carts WHERE session_key = ?", [sessionKey]);
      return row && fromRow(row);
    },
    /** The session's cart moved to another key (sign-in) or is no longer the account's. */
    async forget(sessionKey: string) {
      await db.run("DELETE FROM saved_carts WHERE session_key = ?", [sessionKey]);
    },
    /** Say why a session was ended on purpose, for the next request that bears its cookie. */
    async recordEnd(sessionKey: string, reason: EndReason, now: number) {
      await db.run(
        "INSERT INTO session_endings (session_key, reason, ended_at) VALUES (?, ?, ?) ON CONFLICT (session_key) DO UPDATE SET reason = excluded.reason, ended_at = excluded.ended_at",
        [sessionKey, reason, now],
      );
    },
    async endOf(sessionKey: string): Promise<{ reason: EndReason; endedAt: number } | undefined> {
      const row = await db.get<{ reason: EndReason; ended_at: number }>("SELECT reason, ended_at FROM session_endings WHERE session_key = ?", [sessionKey]);
      return row && { reason: row.reason, endedAt: row.ended_at };
    },
    /** The notice was shown (the cookie is cleared with it): it is never shown twice. */
    async forgetEnd(sessionKey: string) {
      await db.run("DELETE FROM session_endings WHERE session_key = ?", [sessionKey]);
    },
    /** Endings older than any cookie can live are of no more use. */
    pruneEnds: (before: number): Promise<number> => db.run("DELETE FROM session_endings WHERE ended_at < ?", [before]),
  });
}
