/** The reference for exercise 4 is the shop's own PostgreSQL store, migrated into the schema the grader gives it. */
import { connectPostgresStore } from "../../session/postgres.ts";
import { root } from "../../test/harness.ts";
import type { StoreDeps } from "../exercises.ts";

export async function createStore({ connectPostgres }: Pick<StoreDeps, "connectPostgres">) {
  const { url, options } = await connectPostgres();
  return connectPostgresStore({ databaseUrl: url, pgQueryDeadlineMs: 1500, pgPoolMax: 10 }, root, undefined, { options });
}
