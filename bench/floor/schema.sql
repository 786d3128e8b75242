-- Scratch tables for the floor (bench/floor/order.sql), in the benchmark's own database:
-- the real tables' columns, defaults, constraints and indexes (LIKE ... INCLUDING ALL), the
-- same foreign keys, and id sequences of their own so the real tables' ids are not consumed.
-- {organization_id} and {location_id} are filled in by the harness (partner bench-a and its
-- first store); the 84 capacity counters are that store's next 28 days x 3 timeslots.
DROP TABLE IF EXISTS bench_floor_outbox, bench_floor_events, bench_floor_lines,
    bench_floor_orders, bench_floor_capacity;
DROP SEQUENCE IF EXISTS bench_floor_numbers;
CREATE SEQUENCE bench_floor_numbers;
CREATE TABLE bench_floor_orders (LIKE orders INCLUDING ALL);
CREATE SEQUENCE bench_floor_orders_id_seq OWNED BY bench_floor_orders.id;
ALTER TABLE bench_floor_orders ALTER COLUMN id SET DEFAULT nextval('bench_floor_orders_id_seq');
ALTER TABLE bench_floor_orders
    ADD FOREIGN KEY (organization_id) REFERENCES organizations (id),
    ADD FOREIGN KEY (location_id) REFERENCES locations (id);
CREATE TABLE bench_floor_lines (LIKE order_lines INCLUDING ALL);
CREATE SEQUENCE bench_floor_lines_id_seq OWNED BY bench_floor_lines.id;
ALTER TABLE bench_floor_lines ALTER COLUMN id SET DEFAULT nextval('bench_floor_lines_id_seq');
ALTER TABLE bench_floor_lines
    ADD FOREIGN KEY (order_id) REFERENCES bench_floor_orders (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (product_id) REFERENCES products (id);
CREATE TABLE bench_floor_events (LIKE order_events INCLUDING ALL);
CREATE SEQUENCE bench_floor_events_id_seq OWNED BY bench_floor_events.id;
ALTER TABLE bench_floor_events ALTER COLUMN id SET DEFAULT nextval('bench_floor_events_id_seq');
ALTER TABLE bench_floor_events
    ADD FOREIGN KEY (order_id) REFERENCES bench_floor_orders (id) ON DELETE CASCADE;
CREATE TABLE bench_floor_outbox (LIKE outbox_events INCLUDING ALL);
CREATE SEQUENCE bench_floor_outbox_id_seq OWNED BY bench_floor_outbox.id;
ALTER TABLE bench_floor_outbox ALTER COLUMN id SET DEFAULT nextval('bench_floor_outbox_id_seq');
ALTER TABLE bench_floor_outbox
    ADD FOREIGN KEY (order_id) REFERENCES bench_floor_orders (id),
    ADD FOREIGN KEY (organization_id) REFERENCES organizations (id);
CREATE TABLE bench_floor_capacity (LIKE slot_usage INCLUDING ALL);
ALTER TABLE bench_floor_capacity ADD FOREIGN KEY (location_id) REFERENCES locations (id);
INSERT INTO bench_floor_capacity (location_id, day, slot, used)
    SELECT {location_id}, current_date + 1 + i / 3, (ARRAY['0712', '1217', '1721'])[i % 3 + 1], 0
    FROM generate_series(0, 83) AS i;
ANALYZE bench_floor_capacity;
