/** What the route files need, built once in createApp. */
import type { CartCarryOver } from "../accounts/carry-over.ts";
import type { SavedCarts } from "../accounts/saved-carts.ts";
import type { Audit } from "../auth/audit.ts";
import type { PasswordHasher } from "../auth/password.ts";
import type { Users } from "../auth/users.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { Clock } from "../clock.ts";
import type { Orders } from "../orders/orders.ts";
import type { ServerStore } from "../session/directory.ts";
import type { SessionStorage } from "../session/types.ts";
import type { createFlash } from "../middleware/flash.ts";
import type { LimitStores } from "../middleware/limit-stores.ts";

export interface RouteDeps {
  catalog: Catalog;
  users: Users;
  orders: Orders;
  sessions: SessionStorage;
  /** For listing and ending a user's other sessions; everything else goes through `sessions`. */
  store: ServerStore | null;
  flash: ReturnType<typeof createFlash>;
  clock: Clock;
  /** Security events (sign-in, sign-out, sessions ended) as their own log lines. */
  audit: Audit;
  /** scrypt, at most a few at a time (see password.ts). */
  passwords: PasswordHasher;
  /** The accounts' saved carts and why sessions ended. */
  savedCarts: SavedCarts;
  /** Sign-in: the saved cart comes back, merged with the guest's. */
  carryOver: CartCarryOver;
  /** Where the rate limits count: shared by every instance (middleware/limit-stores.ts). */
  limits: LimitStores;
}
