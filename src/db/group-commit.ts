/**
 * Group commit: the writes that arrive in one turn of the event loop share one
 * BEGIN IMMEDIATE … COMMIT instead of paying for one each.
 *
 * Why: on this machine a commit (the lock, the WAL append, the fsync-free write in WAL+NORMAL and
 * the system calls around them) costs about 50 µs, more than the statements inside it. Requests
 * that are parsed in the same poll phase are queued here and run in `setImmediate`, in the order
 * they arrived, each in its own SAVEPOINT inside the one transaction:
 *
 * - a piece of work that throws is rolled back to its savepoint and fails alone (its caller gets
 *   the error; the others still commit);
 * - every caller is answered only after the COMMIT returned, so nothing is acknowledged before it
 *   is durable; if BEGIN or COMMIT fails, every caller of that group gets that error and nothing
 *   of the group was written (a busy BEGIN has done nothing, so callers may simply try again);
 * - the order inside a group is the order of arrival, so a logout queued before an add makes the
 *   add find no row (no resurrection), exactly as if each had committed alone.
 *
 * Work must be synchronous (better-sqlite3 is) and must not await: it runs inside the transaction.
 */
import type { Db } from "./open.ts";

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommit {
  /** Run `work` inside the next group's transaction; resolves after that transaction committed. */
  run<T>(work: () => T): Promise<T>;
}

/** `settled`: told after each group whether its transaction committed (the read cache keeps its written rows then). */
export function createGroupCommit(db: Db, options: { settled?: (committed: boolean) => void } = {}): GroupCommit {
  let queue: Pending[] = [];
  // Called inside the outer transaction, a better-sqlite3 transaction function becomes a SAVEPOINT.
  const savepoint = db.transaction((work: () => unknown) => work());

  const commitGroup = db.transaction((group: Pending[]) => {
    // Alone in its group, a work needs no savepoint: if it throws, the whole transaction (only its
    // own) rolls back and its caller gets the error. The savepoint pair costs 2–3 µs per write.
    if (group.length === 1) return [{ ok: true, value: group[0]!.work() }];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    for (const { work } of group) {
      try {
        outcomes.push({ ok: true, value: savepoint(work) });
      } catch (error) {
        // Some errors (a full disk, I/O) make SQLite roll back the whole transaction: then the rest
        // of the group must not run in autocommit behind our back. Fail the group.
        if (!db.inTransaction) throw error;
        outcomes.push({ ok: false, value: error });
      }
    }
    return outcomes;
  });

  const flush = () => {
    const group = queue;
    queue = [];
    let outcomes: { ok: boolean; value: unknown }[];
    try {
      outcomes = commitGroup.immediate(group);
    } catch (error) {
      options.settled?.(false);
      for (const pending of group) pending.reject(error);
      return;
    }
    options.settled?.(true);
    group.forEach((pending, i) => {
      const { ok, value } = outcomes[i]!;
      if (ok) pending.resolve(value);
      else pending.reject(value);
    });
  };

  return {
    run<T>(work: () => T) {
      return new Promise<T>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      });
    },
  };
}
