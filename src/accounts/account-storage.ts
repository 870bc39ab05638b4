/**
 * withSavedCarts(storage): the session storage, plus the account's saved cart written through.
 *
 * A decorator, not a change to the session core: the session layer knows nothing about accounts
 * (src/session/ is read aloud on its own), and every technique gets the same behaviour.
 *
 * - change / regenerate of a signed-in session: its cart is also written to saved_carts under
 *   the session's key (after the session's own write succeeded, so nothing is saved that the
 *   session refused);
 * - a sliding touch moves that row's expiry too ("did it end?" is judged from it);
 * - regenerate: the cart moved to the new key, the old key's row goes;
 * - destroy (sign-out): the row stays — it is now the saved cart — and the ending is recorded so
 *   a copy of the old cookie is told "signed out" instead of nothing.
 *
 * The write-through is a copy: if it fails (the database busy past its deadline) the session's
 * own write still stands and is acknowledged; the copy catches up at the next change. Failing the
 * request instead would tell the shopper "not added" about an add that is in their cart.
 */
import type { Clock } from "../clock.ts";
import type { SessionStorage } from "../session/types.ts";
import type { SavedCarts } from "./saved-carts.ts";

export interface SavedCartsDeps {
  savedCarts: SavedCarts;
  clock: Clock;
  onError: (error: unknown) => void;
}

export function withSavedCarts(inner: SessionStorage, { savedCarts, clock, onError }: SavedCartsDeps): SessionStorage {
  const copy = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      onError(error);
    }
  };
  const remember = async (session: Parameters<SessionStorage["change"]>[0]) => {
    if (session.userId === null || session.key === null) return;
    const { key, userId, createdAt, expiresAt } = session;
    await copy(() => savedCarts.remember(key, userId, session.data.cart, { createdAt: createdAt!, expiresAt: expiresAt!, now: clock.now() }));
  };

  return {
    technique: inner.technique,
    cookieName: inner.cookieName,
    async load(req, res) {
      const session = await inner.load(req, res);
      if (session.userId !== null && session.key !== null && session.events.includes("touched")) {
        const { key, expiresAt } = session;
        await copy(() => savedCarts.touch(key, expiresAt!));
      }
      return session;
    },
    async change(session, res, mutate, options) {
      await inner.change(session, res, mutate, options);
      await remember(session);
    },
    async regenerate(session, res, change) {
      const oldKey = session.key;
      await inner.regenerate(session, res, change);
      if (oldKey !== null && oldKey !== session.key) await copy(() => savedCarts.forget(oldKey));
      await remember(session);
    },
    async destroy(session, res) {
      const { key, userId } = session;
      await inner.destroy(session, res);
      if (key !== null && userId !== null) await copy(() => savedCarts.recordEnd(key, "signed-out", clock.now()));
    },
  };
}
