/**
 * The store contract (src/test/store-contract.ts) on the PostgreSQL store, against a real cluster of
 * this file's own (fails loudly, naming the package, when PostgreSQL is not installed).
 */
import { after } from "node:test";
import { deferredStore, newPostgresStore, startPostgresServer } from "../../test/postgres-server.ts";
import { storeContract } from "../../test/store-contract.ts";

const postgres = await startPostgresServer();
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
  await postgres.close();
});

// Each store gets its own schema, so the tests see only their own rows.
storeContract("postgres", () => {
  const store = newPostgresStore(postgres);
  closers.push(async () => (await store).close());
  return deferredStore(store);
});
