-- The lab shop's MariaDB database: tables with awkward values (quotes, brackets,
-- "),(", newlines, binary), a foreign key, a trigger, a view, two routines and
-- an event, so a backup that loses any of them fails the drill.
CREATE TABLE customers (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(120) NOT NULL,
  note TEXT,
  avatar VARBINARY(32),
  balance DECIMAL(12, 2),
  score DOUBLE
) ENGINE=InnoDB;

CREATE TABLE products (
  sku VARCHAR(20) PRIMARY KEY,
  title VARCHAR(200) NOT NULL,
  price_cents INT NOT NULL
) ENGINE=InnoDB;

CREATE TABLE orders (
  id INT PRIMARY KEY AUTO_INCREMENT,
  customer_id INT NOT NULL,
  sku VARCHAR(20) NOT NULL,
  quantity INT NOT NULL,
  created_at DATETIME NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES customers (id),
  FOREIGN KEY (sku) REFERENCES products (sku)
) ENGINE=InnoDB;

CREATE TABLE order_audit (
  id INT PRIMARY KEY AUTO_INCREMENT,
  order_id INT NOT NULL,
  message VARCHAR(200) NOT NULL
) ENGINE=InnoDB;

CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO order_audit (order_id, message) VALUES (NEW.id, CONCAT('order ', NEW.id, ' placed'));

CREATE VIEW big_orders AS SELECT id, customer_id, sku, quantity FROM orders WHERE quantity >= 5;

CREATE FUNCTION order_total(order_id INT) RETURNS INT READS SQL DATA
  RETURN (SELECT o.quantity * p.price_cents FROM orders o JOIN products p ON p.sku = o.sku WHERE o.id = order_id);

CREATE PROCEDURE place_order(IN customer INT, IN item VARCHAR(20), IN how_many INT)
  INSERT INTO orders (customer_id, sku, quantity, created_at) VALUES (customer, item, how_many, '2025-03-01 12:00:00');

CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DISABLE
  DO DELETE FROM order_audit WHERE id < 0;

INSERT INTO customers (name, note, avatar, balance, score)
SELECT CONCAT('customer ', seq, IF(seq % 3 = 0, ' O''Brien (jr)', '')),
       IF(seq % 7 = 0, NULL, CONCAT('line one\nline two ),( ', seq, IF(seq % 5 = 0, ' back\\slash', ''))),
       IF(seq % 4 = 0, NULL, UNHEX(SHA2(seq, 256))),
       seq * 1.25,
       seq / 7
FROM seq_1_to_600;

INSERT INTO products (sku, title, price_cents)
SELECT CONCAT('SKU-', LPAD(seq, 4, '0')), CONCAT('Product "', seq, '" (', seq % 9, ' colours); ''quoted'''), 100 + seq * 3
FROM seq_1_to_150;

INSERT INTO orders (customer_id, sku, quantity, created_at)
SELECT 1 + seq % 600, CONCAT('SKU-', LPAD(1 + seq % 150, 4, '0')), 1 + seq % 9,
       '2025-03-01 00:00:00' + INTERVAL seq MINUTE
FROM seq_1_to_2500;
