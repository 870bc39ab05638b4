/** What the route files need, built once in createApp. */
import type { Users } from "../auth/users.js";
import type { Catalog } from "../catalog/catalog.js";
import type { Clock } from "../clock.js";
import type { Orders } from "../orders/orders.js";
import type { SessionStorage, SessionStore } from "../session/types.js";
import type { createFlash } from "../middleware/flash.js";

export interface RouteDeps {
  catalog: Catalog;
  users: Users;
  orders: Orders;
  sessions: SessionStorage;
  /** For listing and ending a user's other sessions; everything else goes through `sessions`. */
  store: SessionStore | null;
  flash: ReturnType<typeof createFlash>;
  clock: Clock;
}
