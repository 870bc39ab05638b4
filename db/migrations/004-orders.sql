-- Orders copy the name and unit price at the time of purchase: later catalog edits
-- must not rewrite what a shopper paid.
CREATE TABLE orders (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users (id),
  ship_name    TEXT    NOT NULL,
  ship_address TEXT    NOT NULL,
  card_last4   TEXT    NOT NULL,                         -- the fake payment keeps only the last four digits
  total_cents  INTEGER NOT NULL CHECK (total_cents >= 0),
  created_at   INTEGER NOT NULL                          -- epoch ms
) STRICT;

CREATE TABLE order_lines (
  order_id         INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id       INTEGER NOT NULL REFERENCES products (id),
  name             TEXT    NOT NULL,
  unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents > 0),
  quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 10),
  PRIMARY KEY (order_id, product_id)
) STRICT;

CREATE INDEX orders_user_id ON orders (user_id, created_at);
