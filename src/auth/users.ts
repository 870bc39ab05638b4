/** Accounts: look-up by email or id, and creation. Passwords arrive here already hashed. */
import { translatingUnavailable } from "../db/unavailable.ts";
import type { Sql } from "../db/sql.ts";

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

export function createUsers(db: Sql) {
  // SQLite busy, locked, full or read-only: the one StoreUnavailableError (a 503), never a 500.
  return translatingUnavailable({
    async findByEmail(email: string): Promise<(User & { passwordHash: string }) | undefined> {
      const row = await db.get<UserRow>("SELECT id, email, password_hash FROM users WHERE email = ?", [email]);
      return row && { id: row.id, email: row.email, passwordHash: row.password_hash };
    },
    findById: (id: number): Promise<User | undefined> => db.get<User>("SELECT id, email FROM users WHERE id = ?", [id]),
    async setPasswordHash(id: number, passwordHash: string): Promise<void> {
      await db.run("UPDATE users SET password_hash = ? WHERE id = ?", [passwordHash, id]);
    },
    /** Undefined when the email is taken. */
    async create(email: string, passwordHash: string, now: number): Promise<User | undefined> {
      const row = await db.get<{ id: number }>(
        "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING id",
        [email, passwordHash, now],
      );
      return row && { id: row.id, email };
    },
  });
}
