-- The floor: one order as orderdesk's partner create stores it, straight from pgbench, in one
-- transaction: the order row with its JSON, two line rows (one statement), the "created" event,
-- the outbox row with its webhook payload, and a booking on one of 84 capacity counters.
-- The number comes from a sequence, so nothing but the counter row is shared between clients.
-- Run by bench/load.py: pgbench --protocol=prepared --define=org=.. loc=.. item1=.. item2=..
-- pgbench takes any colon followed by a letter or digit for a variable, even inside a string
-- literal: hence 'partner' || ':' || ... and \u003a (a JSON-escaped colon) in the payload.
\set slot random(0, 83)
\set day 1 + :slot / 3
\set s :slot % 3 + 1
\set phone random(20000000, 29999999)
BEGIN;
INSERT INTO bench_floor_orders (uid, token, organization_id, location_id, number, status,
    substatus, title, customer, address, payment_method, ready, preferences, booked_day,
    booked_slot, subtotal, delivery_fee, discount, total, currency, fulfilment, notes,
    search_text, created_at, updated_at)
VALUES (substr(md5(random()::text), 1, 24), md5(random()::text), :org, :loc,
    nextval('bench_floor_numbers'), 'open', 'awaiting_master_request',
    'PAX wardrobe 150x236, white +1',
    jsonb_build_object('first_name', 'Anna', 'last_name', 'Ozola', 'phone', '+371' || :phone),
    '{"address": "Brīvības iela 1, Rīga", "coordinates": {"lat": 56.95, "lon": 24.11}, "details": "3rd floor, door code 1234", "zip": "LV-1010"}',
    'cash', true, '[{"date": "2026-12-03", "slot": "1217"}]',
    current_date + CAST(:day AS integer), (ARRAY['0712', '1217', '1721'])[CAST(:s AS integer)],
    10400, 0, 0, 10400, 'EUR', '{"delivery_type": "to_door_by_lift", "slot_booked": false}', '',
    'pax wardrobe 150x236 white 1 anna ozola 371' || :phone, now(), now())
RETURNING id AS order_id \gset
INSERT INTO bench_floor_lines (order_id, position, product_id, name, quantity, unit_price,
    services, options, total, options_price, notes, snapshot)
VALUES (:order_id, 0, :item1, 'PAX wardrobe 150x236, white', 1, 0,
        '[{"name": "delivery", "price": 2500}, {"name": "assembly", "price": 4900}]', '[]',
        7400, 0, '', '{"uid": "1", "ext_id": null, "item_id": 1, "category_uid": "wardrobes", "category": "wardrobes"}'),
       (:order_id, 1, :item2, 'PAX bed frame 60x80, white', 1, 0,
        '[{"name": "delivery", "price": 3000}]', '[]', 3000, 0, '',
        '{"uid": "2", "ext_id": null, "item_id": 2, "category_uid": "beds", "category": "beds"}');
INSERT INTO bench_floor_events (order_id, at, actor, kind, from_status, from_substatus,
    to_status, to_substatus, data)
VALUES (:order_id, now(), 'partner' || ':' || 'bench-a/api@bench-a.example', 'created', NULL, NULL, 'open',
    'awaiting_master_request', '{"booked": {"date": "2026-12-03", "slot": "1217"}, "scheduled_at": null}');
INSERT INTO bench_floor_outbox (organization_id, order_id, event, payload, created_at,
    published_at)
VALUES (:org, :order_id, 'order.created', '{"event": "order.created", "created_at": "2026-12-01T11\u003a33\u003a40.193Z", "data": {"_id": 1, "title": "PAX wardrobe 150x236, white +1", "_status": "open", "_substatus": "awaiting_master_request", "partner": "bench-a", "partner_details": {"instock": true, "store_id": "bench-a-riga", "store_title": "Bench A Riga", "delivery_type": "to_door_by_lift"}, "created_at": "2026-12-01T11\u003a33\u003a40.193Z", "datetime": [{"date": "2026-12-03", "timeslot": "1217"}], "booked": {"date": "2026-12-03", "timeslot": "1217"}, "customer": {"phone_number": "+37120000001", "first_name": "Anna", "last_name": "Ozola"}, "address": {"address": "Brīvības iela 1, Rīga", "coordinates": {"lat": 56.95, "lon": 24.11}, "details": "3rd floor, door code 1234", "zip": "LV-1010"}, "items": [{"id": 1, "count": 1, "delivery": true, "assembly": true}, {"id": 2, "count": 1, "delivery": true, "assembly": false}], "payment_method": "cash", "image_uuids": [], "updated_at": "2026-12-01T11\u003a33\u003a40.193Z"}}',
    now(), NULL);
UPDATE bench_floor_capacity SET used = used + 1
WHERE location_id = :loc AND day = current_date + CAST(:day AS integer)
    AND slot = (ARRAY['0712', '1217', '1721'])[CAST(:s AS integer)] AND used < 1000000;
END;
