-- The catalog: categories and products. Money is INTEGER cents, never floats.
CREATE TABLE categories (
  id    INTEGER PRIMARY KEY,
  slug  TEXT NOT NULL UNIQUE,
  name  TEXT NOT NULL,
  blurb TEXT NOT NULL
) STRICT;

CREATE TABLE products (
  id          INTEGER PRIMARY KEY,
  category_id INTEGER NOT NULL REFERENCES categories (id),
  slug        TEXT    NOT NULL UNIQUE,
  name        TEXT    NOT NULL,
  description TEXT    NOT NULL,
  image       TEXT    NOT NULL,                          -- file name under public/images/products/
  price_cents INTEGER NOT NULL CHECK (price_cents > 0),
  stock       INTEGER NOT NULL CHECK (stock >= 0)        -- checkout decrements with WHERE stock >= ?
) STRICT;

CREATE INDEX products_category_id ON products (category_id);
