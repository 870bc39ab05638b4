/**
 * PostgreSQL through `pg` (node-postgres), with a deadline of our own on every call.
 *
 * Why not trust the driver's defaults: `pg` waits forever to connect and to check a client out of a
 * full pool (connectionTimeoutMillis 0), has no query timeout, and a server-side statement_timeout
 * cannot fire while the server is frozen (SIGSTOP'd, or a link that silently drops packets: TCP
 * still looks open). So:
 *  - connect and pool checkout: connectionTimeoutMillis = the deadline (pg-pool applies it to both);
 *  - every statement races a timer of ours; when it loses, the client is handed back with
 *    `release(err)`, which makes the pool destroy it (its socket may hold a reply that will never
 *    come: `query_timeout` alone leaves it half-open, node-postgres #3399) instead of reusing it;
 *  - `pool.on('error')`: an idle client whose server went away emits an error, which would end the
 *    process without a listener (node-postgres #2386); a checked-out client gets a listener of ours;
 *  - the server ends any transaction left idle longer than the deadline
 *    (idle_in_transaction_session_timeout): a paused instance can hold a row lock for that long at
 *    most, and its late COMMIT then fails instead of landing.
 * Every failure to reach or hear from the server becomes the one StoreUnavailableError (the 503
 * page). A constraint violation or a syntax error is a bug and stays what it is (a 500).
 */
import pg from "pg";
import { StoreUnavailableError } from "../errors.ts";

export type Row = Record<string, unknown>;
/** One statement, `$1`-style parameters: the rows it returned (or affected, for RETURNING). */
export type Query = <R extends Row = Row>(sql: string, params?: unknown[]) => Promise<R[]>;
/** One statement: the driver's whole result (rows and rowCount: how many rows an UPDATE or DELETE changed). */
export type Exec = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

export interface PgRunner {
  /** One statement on its own (autocommit). */
  query: Query;
  /** The same, with the driver's whole result. */
  exec: Exec;
  /** BEGIN, `work`, COMMIT on one client; ROLLBACK if `work` throws. Each statement under the deadline. */
  transaction<T>(work: (query: Query, exec: Exec) => Promise<T>): Promise<T>;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export interface PgRunnerOptions {
  connectionString: string;
  /** The most one statement (or one pool checkout) may take before the request gets a 503 (PG_QUERY_DEADLINE_MS). */
  deadlineMs: number;
  /** Connections of this instance: instances × max (+ sweepers, migrator) must stay under the server's max_connections. */
  max?: number;
  /** Extra server settings for every connection, e.g. `-c search_path=…` (tests give each store its own schema). */
  options?: string;
  onIdleError?: (error: Error) => void;
  /** How values are parsed (the shop's data: int8 as a number, src/db/sql.ts); pg's defaults otherwise. */
  types?: pg.CustomTypesConfig;
}

/**
 * SQLSTATEs that mean "the server, not the statement": connection (08), resources (53), shutdown or
 * crash (57P), lock wait (55P03), cancelled (57014), our transaction ended by the server for idling
 * (25P03: this instance was paused past the deadline), serialization or deadlock (40001, 40P01).
 */
const UNAVAILABLE = /^(08|53|57P|55P03|57014|25P03|25P04|40001|40P01)/;
const isUnavailable = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return UNAVAILABLE.test(code) || /^E(CONNREFUSED|CONNRESET|PIPE|HOSTUNREACH|NETUNREACH|TIMEDOUT|NOENT)$/.test(code);
  // pg's own errors for a connection that died or never came, which carry no code.
  return error instanceof Error && /Connection terminated|timeout|not queryable|Client has encountered a connection error/i.test(error.message);
};
const translate = (error: unknown): never => {
  throw error instanceof StoreUnavailableError || !isUnavailable(error) ? error : new StoreUnavailableError(error);
};

export function createPgRunner({ connectionString, deadlineMs, max = 10, options, onIdleError, types }: PgRunnerOptions): PgRunner {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: deadlineMs, // to connect, and to wait for a free client of a full pool
    idleTimeoutMillis: 30_000,
    types,
    keepAlive: true, // a peer that vanished is noticed by TCP, not only by the next query
    options: [`-c idle_in_transaction_session_timeout=${deadlineMs}`, `-c lock_timeout=${deadlineMs}`, options].filter(Boolean).join(" "),
  });
  pool.on("error", (error) => onIdleError?.(error)); // an idle client lost its server: logged, never fatal

  /** `work` (one statement) against the clock; a miss marks its client broken, so it is destroyed (its reply may still be in flight). */
  async function timed<T>(broken: { error?: Error }, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        broken.error = new Error(`PostgreSQL did not answer within ${deadlineMs} ms`);
        reject(new StoreUnavailableError(broken.error));
      }, deadlineMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      if (isUnavailable(error)) broken.error ??= error as Error; // a dead connection is not given to the next request
      throw error;
    } finally {
      clearTimeout(timer);
      work.catch(() => {}); // the loser of the race settles later (when the socket is destroyed): not an unhandled rejection
    }
  }

  async function withClient<T>(work: (query: Query, exec: Exec) => Promise<T>): Promise<T> {
    const client = await pool.connect().catch(translate);
    const broken: { error?: Error } = {};
    // A checked-out client whose connection dies emits 'error', and pg-pool listens only while it is
    // idle: without this listener, a restart or a cut link in mid-statement would end the process.
    const onError = (error: Error) => {
      broken.error ??= error;
    };
    client.on("error", onError);
    const exec: Exec = (sql, params) => timed(broken, client.query(sql, params));
    const query: Query = async (sql, params) => (await exec(sql, params)).rows as never;
    try {
      return await work(query, exec);
    } finally {
      client.removeListener("error", onError);
      client.release(broken.error); // with an error: the pool closes this client instead of reusing it
    }
  }

  return {
    pool,
    query: <R extends Row>(sql: string, params?: unknown[]) => withClient((q) => q<R>(sql, params)).catch(translate),
    exec: (sql, params) => withClient((_q, e) => e(sql, params)).catch(translate),
    transaction: (work) =>
      withClient(async (q, e) => {
        await q("BEGIN");
        let result: Awaited<ReturnType<typeof work>>;
        try {
          result = await work(q, e);
        } catch (error) {
          await q("ROLLBACK").catch(() => {}); // on a broken client the server rolls back by itself
          throw error;
        }
        await q("COMMIT");
        return result;
      }).catch(translate),
    close: () => pool.end(),
  };
}
