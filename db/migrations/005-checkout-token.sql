-- Idempotent checkout: the checkout form carries a random token, and an order remembers the token
-- of the form that placed it. A retry of the same form (a lost answer, a double click, a 503 after
-- the order was committed) finds the order instead of placing a second one. Scoped per shopper;
-- orders placed before this migration have no token (NULLs never collide in a UNIQUE index).
ALTER TABLE orders ADD COLUMN checkout_token TEXT CHECK (checkout_token IS NULL OR length(checkout_token) BETWEEN 16 AND 64);

CREATE UNIQUE INDEX orders_user_checkout_token ON orders (user_id, checkout_token);
