-- The benchmark's dataset: an application's customers, orders and event log,
-- with text drawn from a word list (it compresses like real text, unlike
-- pgbench's blank filler), mixed types, JSON, and several indexes.
-- bench/run.py creates the schema once, then calls bench_fill(n) until the
-- database has the requested size.
CREATE TABLE IF NOT EXISTS customers (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    city text NOT NULL,
    plan text NOT NULL,
    signed_up timestamptz NOT NULL,
    balance numeric(12, 2) NOT NULL,
    prefs jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL,
    created timestamptz NOT NULL,
    status text NOT NULL,
    total numeric(12, 2) NOT NULL,
    items jsonb NOT NULL,
    note text
);
CREATE TABLE IF NOT EXISTS events (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    level text NOT NULL,
    source inet,
    message text NOT NULL,
    payload jsonb
);
CREATE INDEX IF NOT EXISTS customers_email_idx ON customers (email);
CREATE INDEX IF NOT EXISTS customers_city_plan_idx ON customers (city, plan);
CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id, created);
CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status);
CREATE INDEX IF NOT EXISTS events_at_idx ON events (at);

CREATE OR REPLACE FUNCTION bench_words(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT string_agg(w[1 + floor(random() * array_length(w, 1))::int], ' ')
    FROM generate_series(1, n),
         (SELECT ARRAY['order', 'shipped', 'customer', 'payment', 'received', 'invoice', 'delivery', 'address',
                       'warehouse', 'the', 'a', 'to', 'of', 'and', 'for', 'with', 'on', 'was', 'is', 'by', 'from',
                       'request', 'failed', 'retry', 'timeout', 'user', 'session', 'login', 'logout', 'cart',
                       'product', 'price', 'discount', 'coupon', 'applied', 'refund', 'issued', 'account', 'updated',
                       'created', 'deleted', 'email', 'sent', 'notification', 'queue', 'worker', 'job', 'started',
                       'finished', 'error', 'warning', 'info', 'debug', 'database', 'connection', 'pool', 'cache',
                       'miss', 'hit', 'latency', 'ms', 'response', 'status', 'ok', 'not', 'found', 'server',
                       'client', 'upstream', 'gateway', 'report', 'daily', 'weekly', 'monthly', 'export', 'import',
                       'batch', 'record', 'records', 'processed', 'skipped', 'duplicate', 'validation', 'passed',
                       'customer', 'support', 'ticket', 'opened', 'closed', 'assigned', 'priority', 'high', 'low',
                       'normal', 'please', 'thanks', 'package', 'arrived', 'damaged', 'replacement', 'tracking',
                       'number', 'carrier', 'express', 'standard', 'return', 'label', 'printed', 'stock', 'level',
                       'reorder', 'supplier', 'contract', 'renewal', 'subscription', 'plan', 'upgraded',
                       'downgraded', 'trial', 'expired', 'card', 'declined', 'approved', 'bank', 'transfer'] AS w) AS words
$$;

CREATE OR REPLACE FUNCTION bench_fill(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    first_customer bigint;
BEGIN
    INSERT INTO customers (name, email, city, plan, signed_up, balance, prefs)
    SELECT initcap(bench_words(2)), 'user' || g || '.' || md5(random()::text)::varchar(6) || '@example.org',
           (ARRAY['Berlin', 'Istanbul', 'Lagos', 'Lima', 'Osaka', 'Austin', 'Pune', 'Lyon'])[1 + (g % 8)],
           (ARRAY['free', 'basic', 'pro', 'enterprise'])[1 + floor(random() * 4)::int],
           timestamptz '2020-01-01 00:00:00+00' + random() * interval '1800 days',
           round((random() * 5000)::numeric, 2),
           jsonb_build_object('newsletter', random() < 0.5, 'language', (ARRAY['en', 'de', 'tr', 'es'])[1 + g % 4],
                              'tags', to_jsonb(string_to_array(bench_words(3), ' ')))
    FROM generate_series(1, n / 10) AS g;
    SELECT max(id) - n / 10 + 1 INTO first_customer FROM customers;

    INSERT INTO orders (customer_id, created, status, total, items, note)
    SELECT first_customer + floor(random() * (n / 10))::bigint,
           timestamptz '2023-01-01 00:00:00+00' + random() * interval '700 days',
           (ARRAY['new', 'paid', 'shipped', 'delivered', 'returned'])[1 + floor(random() * 5)::int],
           round((random() * 900 + 5)::numeric, 2),
           jsonb_build_array(jsonb_build_object('sku', 'SKU-' || floor(random() * 5000)::int,
                                                'qty', 1 + floor(random() * 4)::int,
                                                'title', bench_words(4))),
           CASE WHEN random() < 0.3 THEN bench_words(12) END
    FROM generate_series(1, n / 2);

    INSERT INTO events (at, level, source, message, payload)
    SELECT timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' + random() * interval '1 second',
           (ARRAY['info', 'info', 'info', 'warning', 'error', 'debug'])[1 + floor(random() * 6)::int],
           ('10.0.' || floor(random() * 255)::int || '.' || floor(random() * 255)::int)::inet,
           bench_words(8 + floor(random() * 24)::int),
           CASE WHEN random() < 0.4 THEN jsonb_build_object('request_id', md5(random()::text),
                                                             'duration_ms', floor(random() * 2000)::int) END
    FROM generate_series(1, n) AS g;
END
$$;
