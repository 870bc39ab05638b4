/**
 * A store that is still being made (a Redis store connects first) answering the contract's
 * synchronous `make()`: each call waits for the store, then runs. `kind` is known up front.
 */
import type { ServerStore } from "../session/directory.ts";

export function deferred(store: Promise<ServerStore>, kind: ServerStore["kind"]): ServerStore {
  return new Proxy({} as ServerStore, {
    get: (_, name: keyof ServerStore) =>
      name === "kind" ? kind : (...args: unknown[]) => store.then((s) => (s[name] as (...a: unknown[]) => unknown)(...args)),
  });
}
