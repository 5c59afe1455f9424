-- Known, deterministic data for the lab's appdb (realistic mix of types).
CREATE TABLE IF NOT EXISTS customers (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id bigserial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    amount_cents bigint NOT NULL,
    status text NOT NULL,
    note text,
    created_at timestamptz NOT NULL
);
-- The sample app seals its data under its encryption key (lab/sampleapp: key_seal).
CREATE TABLE IF NOT EXISTS app_seal (
    seal text NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);
CREATE INDEX IF NOT EXISTS orders_created_idx ON orders (created_at);

INSERT INTO customers (name, email, created_at)
SELECT 'Customer ' || g, 'customer' || g || '@example.org', timestamptz '2025-01-01 00:00:00+00' + g * interval '37 minutes'
FROM generate_series(1, 2000) AS g
WHERE NOT EXISTS (SELECT 1 FROM customers);

INSERT INTO orders (customer_id, amount_cents, status, note, created_at)
SELECT 1 + (g * 7919) % 2000, 100 + (g * 104729) % 50000,
       (ARRAY['new', 'paid', 'shipped', 'refunded'])[1 + g % 4],
       CASE WHEN g % 5 = 0 THEN 'gift wrap, deliver after ' || (g % 12) || ' pm' END,
       timestamptz '2025-02-01 00:00:00+00' + g * interval '3 minutes'
FROM generate_series(1, 20000) AS g
WHERE NOT EXISTS (SELECT 1 FROM orders);
