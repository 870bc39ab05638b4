/** Accounts: look-up by email or id, and creation. Passwords arrive here already hashed. */
import { translatingUnavailable } from "../db/unavailable.ts";
import type { Db } from "../db/open.ts";

export interface User {
  id: number;
  email: string;
}

interface UserRow {
  id: number;
  email: string;
  password_hash: string;
}

export type Users = ReturnType<typeof createUsers>;

export function createUsers(db: Db) {
  const byEmail = db.prepare<[string], UserRow>("SELECT id, email, password_hash FROM users WHERE email = ?");
  const byId = db.prepare<[number], User>("SELECT id, email FROM users WHERE id = ?");
  const setHash = db.prepare<[string, number]>("UPDATE users SET password_hash = ? WHERE id = ?");
  const insert = db.prepare<[string, string, number]>("INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING");

  // SQLite busy, locked, full or read-only: the one StoreUnavailableError (a 503), never a 500.
  return translatingUnavailable({
    findByEmail(email: string): (User & { passwordHash: string }) | undefined {
      const row = byEmail.get(email);
      return row && { id: row.id, email: row.email, passwordHash: row.password_hash };
    },
    findById: (id: number): User | undefined => byId.get(id),
    setPasswordHash(id: number, passwordHash: string): void {
      setHash.run(passwordHash, id);
    },
    /** Undefined when the email is taken. */
    create(email: string, passwordHash: string, now: number): User | undefined {
      const result = insert.run(email, passwordHash, now);
      return result.changes === 1 ? { id: Number(result.lastInsertRowid), email } : undefined;
    },
  });
}
