/**
 * Store-level records for the stores' own tests. Stores keep whatever data they are given (sealing
 * happens above them, in storage.ts), so these carts are plaintext.
 */
import type { SessionData, StoredSession } from "../session/types.ts";

const HOUR = 3600_000;

/** A live record (an hour to go) of `userId` with one of each product. */
export const record = (userId: number | null, productIds: number[], now = Date.now()): StoredSession => ({
  data: { cart: productIds.map((productId) => ({ productId, quantity: 1 })) },
  userId,
  createdAt: now,
  lastSeenAt: now,
  expiresAt: now + HOUR,
  userAgent: null,
});

export const cartOf = (s: StoredSession) => (s.data as SessionData).cart;

/** A change that adds one of `productId` to the cart. */
export const withProduct =
  (productId: number) =>
  (s: StoredSession): StoredSession => ({ ...s, data: { cart: [...cartOf(s), { productId, quantity: 1 }] } });
