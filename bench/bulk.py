"""Bulk data in SQL: 100,000 items and up to millions of orders in seconds, not through the API.

Every generated row is a copy of a row orderdesk itself wrote (the setup document's items, the
template orders created through the API), with the columns that make rows differ replaced:
ids, numbers, names, phone numbers, titles, ``search_text``, times, statuses. Copying keeps the
JSON shapes exactly what the readers expect, and new columns added by later migrations are
copied along without this file knowing about them. ``search_text`` is assembled from pieces
folded in Python with orderdesk's own ``fold``, and a sample of rows is checked against
``fold`` of the whole after each step.

Orders are generated in steps (``grow_orders`` up to a total), interleaving the organizations
of :data:`bench.workload.MIX`, numbered on from each organization's highest number, with
``organizations.order_seq`` (and, through the migrations, any per-organization number
sequence) moved on to match. Statuses are spread by hash: about 3 % of partner orders are still
open, the rest done or cancelled; restaurant orders are closed, confirmed or timed out.
Bookings of generated partner orders are counted in ``slot_usage``; the past restaurant slots
of generated restaurant orders are not (nothing reads past slots). Outbox rows are marked
published, with an abbreviated payload: once delivered, payloads are never read again.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench import workload
from orderdesk.core.catalog.search import fold
from orderdesk.db.migrate import migrate

CHUNK = 100_000  # rows per transaction (a multiple of len(MIX))
SPAN_SECONDS = 2 * 365 * 86400  # generated orders spread over two years before yesterday
SLOTS = ("0712", "1217", "1721")


class Sql:
    """The few expressions that differ between PostgreSQL and SQLite."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def series(self, lo: int, hi: int) -> str:
        """A ``WITH`` clause naming ``s(g)``: the integers ``lo``..``hi``."""
        if self.pg:
            return f"WITH s(g) AS (SELECT generate_series({lo}::bigint, {hi}::bigint))"
        return f"WITH RECURSIVE s(g) AS (SELECT {lo} UNION ALL SELECT g + 1 FROM s WHERE g < {hi})"

    def hex(self, chars: int) -> str:
        if self.pg:
            return f"substr(md5(random()::text) || md5(random()::text), 1, {chars})"
        return f"lower(hex(randomblob({chars // 2})))"

    def ts(self, seconds: str) -> str:
        """A UTC timestamp from Unix seconds, in the form SQLAlchemy stores it."""
        if self.pg:
            return f"to_timestamp({seconds})"
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', {seconds}, 'unixepoch')"

    def day(self, seconds: str, plus_days: str) -> str:
        if self.pg:
            utc = f"CAST(to_timestamp({seconds}) AT TIME ZONE 'UTC' AS date)"
            return f"({utc} + CAST({plus_days} AS integer))"
        return f"date({seconds}, 'unixepoch', '+' || ({plus_days}) || ' days')"

    def day_text(self, day: str) -> str:
        return f"to_char({day}, 'YYYY-MM-DD')" if self.pg else day

    def obj(self, *pairs: str) -> str:
        return f"{'jsonb_build_object' if self.pg else 'json_object'}({', '.join(pairs)})"

    def arr(self, *items: str) -> str:
        return f"{'jsonb_build_array' if self.pg else 'json_array'}({', '.join(items)})"

    def merge(self, base: str, obj: str) -> str:
        return f"({base} || {obj})" if self.pg else f"json_patch({base}, {obj})"

    def json(self, literal: str) -> str:
        return f"CAST('{literal}' AS jsonb)" if self.pg else f"'{literal}'"


async def _columns(conn: AsyncConnection, table: str) -> list[str]:
    """Stored columns of ``table`` (generated ones, such as the search vector, excluded)."""

    def read(sync: Any) -> list[str]:
        return [c["name"] for c in inspect(sync).get_columns(table) if not c.get("computed")]

    return await conn.run_sync(read)


async def _copy(
    conn: AsyncConnection,
    table: str,
    source: str,
    overrides: dict[str, str],
    from_sql: str,
    *,
    prefix: str = "",
) -> int:
    """``INSERT INTO table SELECT`` every column from ``source`` except ``overrides``."""
    names = [c for c in await _columns(conn, table) if c != "id" or "id" in overrides]
    values = [overrides.get(c, f'{source}."{c}"') for c in names]
    quoted = ", ".join(f'"{c}"' for c in names)
    sql = f"{prefix} INSERT INTO {table} ({quoted}) SELECT {', '.join(values)} {from_sql}"
    result = await conn.execute(text(sql))
    return int(getattr(result, "rowcount", 0) or 0)


async def _temp(
    conn: AsyncConnection, name: str, columns: str, rows: list[tuple[Any, ...]]
) -> None:
    await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    await conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns})"))
    if rows:
        marks = ", ".join(f":p{i}" for i in range(len(rows[0])))
        await conn.execute(
            text(f"INSERT INTO {name} VALUES ({marks})"),
            [{f"p{i}": v for i, v in enumerate(row)} for row in rows],
        )


# ---------------------------------------------------------------------------------------------
# Items


async def generate_items(engine: AsyncEngine, count: int) -> float:
    """Items ``11..count`` copied from the ten template items; returns the seconds it took."""
    started = time.perf_counter()
    sql = Sql(engine.dialect.name)
    words = [("line", i, w, fold(w)) for i, w in enumerate(workload.LINES)]
    words += [("kind", i, w, fold(w)) for i, w in enumerate(workload.KINDS)]
    words += [("colour", i, w, fold(w)) for i, w in enumerate(workload.COLOURS)]
    async with engine.connect() as conn:
        await _temp(
            conn, "bench_words", "kind VARCHAR(10), i INTEGER, word TEXT, folded TEXT", words
        )
        size = "(60 + (s.g / 100) % 180) || 'x' || (80 + (s.g / 7) % 160)"
        await _copy(
            conn,
            "products",
            "t",
            {
                "item_id": "s.g + 1",
                "uid": "CAST(s.g + 1 AS TEXT)",
                "name": f"wl.word || ' ' || wk.word || ' ' || {size} || ', ' || wc.word",
                "search_text": (
                    f"wl.folded || ' ' || wk.folded || ' ' || {size} || ' ' || wc.folded"
                ),
            },
            "FROM s JOIN products t ON t.organization_id IS NULL AND t.item_id = s.g % 10 + 1 "
            "JOIN bench_words wl ON wl.kind = 'line' AND wl.i = (s.g / 10) % 10 "
            "JOIN bench_words wk ON wk.kind = 'kind' AND wk.i = s.g % 10 "
            "JOIN bench_words wc ON wc.kind = 'colour' AND wc.i = (s.g / 3) % 8",
            prefix=sql.series(10, count - 1),
        )
        await conn.commit()
        rows = (
            await conn.execute(
                text(
                    "SELECT item_id, name, search_text FROM products WHERE item_id IS NOT NULL "
                    "ORDER BY item_id DESC LIMIT 200"
                )
            )
        ).all()
    for item_id, name, folded in rows:
        expected = workload.item_title(item_id - 1)
        if name != expected or folded != fold(expected):
            raise RuntimeError(
                f"generated item {item_id} is {name!r} / {folded!r}, expected "
                f"{expected!r} / {fold(expected)!r}"
            )
    await _analyze(engine, ["products"])
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# Orders


@dataclass
class Share:
    """One of the 20 places of the mix: an organization, a template order and its rank."""

    k: int
    kind: str  # "p" partner, "r" restaurant
    org_id: int
    template_id: int
    rank: int  # how many earlier places of the mix belong to the same organization
    weight: int  # places of the mix that organization holds
    title_folded: str
    event_id: int  # the template's "created" event
    outbox_id: int  # the template's first outbox row
    coupon_use_id: int  # the template's coupon use (0: none)


async def _shares(conn: AsyncConnection) -> list[Share]:
    """The mix, each place tied to a template order (an organization's templates in turn)."""
    orgs = {
        key: (oid, kind)
        for oid, key, kind in await conn.execute(text("SELECT id, key, kind FROM organizations"))
    }
    templates: dict[int, list[tuple[int, str]]] = {}
    for org_id, order_id, title in await conn.execute(
        text(
            "SELECT organization_id, id, title FROM orders WHERE id IN (SELECT MIN(id) "
            "FROM orders GROUP BY location_id) ORDER BY organization_id, location_id"
        )
    ):
        templates.setdefault(org_id, []).append((order_id, title))
    shares: list[Share] = []
    for k, key in enumerate(workload.MIX):
        org_id, kind = orgs[key]
        rank = workload.MIX[:k].count(key)
        order_id, title = templates[org_id][rank % len(templates[org_id])]
        event_id = (
            await conn.scalar(text(f"SELECT MIN(id) FROM order_events WHERE order_id = {order_id}"))
        ) or 0
        outbox_id = (
            await conn.scalar(
                text(f"SELECT MIN(id) FROM outbox_events WHERE order_id = {order_id}")
            )
        ) or 0
        coupon_use_id = (
            await conn.scalar(text(f"SELECT MIN(id) FROM coupon_uses WHERE order_id = {order_id}"))
        ) or 0
        shares.append(
            Share(
                k,
                "p" if kind == "partner" else "r",
                org_id,
                order_id,
                rank,
                workload.MIX.count(key),
                fold(title),
                event_id,
                outbox_id,
                coupon_use_id,
            )
        )
    return shares


async def order_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT COUNT(*) FROM orders")) or 0)


async def grow_orders(engine: AsyncEngine, total: int, max_total: int) -> float:
    """Add orders until about ``total`` are stored; returns the seconds it took.

    ``max_total`` (the last step) fixes the time scale, so that ids and creation times rise
    together across steps.
    """
    started = time.perf_counter()
    sql = Sql(engine.dialect.name)
    async with engine.connect() as conn:
        await _bulk_session(conn, sql)
        shares = await _shares(conn)
        have = int(await conn.scalar(text("SELECT COUNT(*) FROM orders")) or 0)
        add = (total - have) // len(shares) * len(shares)
        if add <= 0:
            return 0.0
        await _temp(
            conn,
            "bench_mix",
            "k INTEGER, kind VARCHAR(1), org_id INTEGER, "
            "template_id INTEGER, rnk INTEGER, weight INTEGER, title_folded TEXT, "
            "event_id INTEGER, outbox_id INTEGER, coupon_use_id INTEGER",
            [
                (
                    s.k,
                    s.kind,
                    s.org_id,
                    s.template_id,
                    s.rank,
                    s.weight,
                    s.title_folded,
                    s.event_id,
                    s.outbox_id,
                    s.coupon_use_id,
                )
                for s in shares
            ],
        )
        names = [(i, n, fold(n)) for i, n in enumerate(workload.FIRST_NAMES)]
        await _temp(conn, "bench_first", "i INTEGER, name TEXT, folded TEXT", names)
        lasts = workload.LAST_NAMES + workload.RARE_LAST_NAMES
        await _temp(
            conn,
            "bench_last",
            "i INTEGER, name TEXT, folded TEXT",
            [(i, n, fold(n)) for i, n in enumerate(lasts)],
        )
        await conn.execute(text("DROP TABLE IF EXISTS bench_items"))
        await conn.execute(
            text(
                "CREATE TEMPORARY TABLE bench_items AS SELECT "
                "CAST(ROW_NUMBER() OVER (ORDER BY p.id) - 1 AS INTEGER) AS i, p.id AS product_id, "
                "p.item_id, p.name, p.search_text AS folded, c.uid AS category "
                "FROM products p JOIN categories c ON c.id = p.category_id "
                "WHERE p.organization_id IS NULL AND p.item_id IS NOT NULL"
            )
        )
        await conn.execute(text("CREATE INDEX bench_items_i ON bench_items (i)"))
        items = int(await conn.scalar(text("SELECT COUNT(*) FROM bench_items")) or 0)
        await conn.commit()
        now = int(time.time())
        step = max(1, SPAN_SECONDS // max(max_total, 1))
        t0 = now - 86400 - step * max_total
        done = 0
        while done < add:
            size = min(CHUNK, add - done)
            await _chunk(conn, sql, size, items=items, t0=t0, step=step)
            await conn.commit()
            done += size
        await conn.execute(
            text(
                "UPDATE organizations SET order_seq = (SELECT MAX(o.number) FROM orders o "
                "WHERE o.organization_id = organizations.id) "
                "WHERE EXISTS (SELECT 1 FROM orders o WHERE o.organization_id = organizations.id)"
            )
        )
        # The list totals come from per-organization counts (orders.models.OrderCount): one
        # shard per organization holding what was generated here, the others left as they are.
        await conn.execute(text("DELETE FROM order_counts"))
        await conn.execute(
            text(
                "INSERT INTO order_counts (organization_id, shard, orders) "
                "SELECT organization_id, 0, COUNT(*) FROM orders GROUP BY organization_id"
            )
        )
        if sql.pg:
            await conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('orders', 'id'), "
                    "(SELECT MAX(id) FROM orders))"
                )
            )
        await conn.commit()
        await _check_search_text(conn)
    # Migrating again moves any per-organization number sequence past the stored numbers.
    await migrate(engine)
    await _analyze(
        engine,
        ["orders", "order_lines", "order_events", "outbox_events", "coupon_uses", "slot_usage"],
    )
    return time.perf_counter() - started


async def _chunk(
    conn: AsyncConnection, sql: Sql, size: int, *, items: int, t0: int, step: int
) -> None:
    """``size`` more orders with their lines, events, outbox rows, coupon uses and bookings."""
    maxid = int(await conn.scalar(text("SELECT COALESCE(MAX(id), 0) FROM orders")) or 0)
    bases = [
        (org_id, int(base))
        for org_id, base in await conn.execute(
            text(
                "SELECT g.id, COALESCE((SELECT MAX(o.number) FROM orders o "
                "WHERE o.organization_id = g.id), 0) FROM organizations g"
            )
        )
    ]
    await _temp(conn, "bench_seq", "org_id INTEGER, base INTEGER", bases)
    await conn.execute(text("DROP TABLE IF EXISTS bench_new"))
    await conn.execute(
        text(
            "CREATE TEMPORARY TABLE bench_new (order_id INTEGER PRIMARY KEY, k INTEGER, "
            "number INTEGER, h1 BIGINT, h3 BIGINT, fi INTEGER, li INTEGER, i1 INTEGER, "
            "i2 INTEGER, st INTEGER, created BIGINT)"
        )
    )
    nf, nl, nr = (
        len(workload.FIRST_NAMES),
        len(workload.LAST_NAMES),
        len(workload.RARE_LAST_NAMES),
    )
    rare = workload.RARE_EVERY
    await conn.execute(
        text(
            f"{sql.series(0, size - 1)} INSERT INTO bench_new "
            "(order_id, k, number, h1, h3, fi, li, i1, i2, st, created) "
            f"SELECT x.oid, x.k, x.number, x.h1, x.h3, x.h1 % {nf}, "
            f"CASE WHEN x.h3 % {rare} = 7 THEN {nl} + x.h1 % {nr} ELSE (x.h1 / 7) % {nl} END, "
            f"x.h3 % {items}, (x.h3 + 1 + x.h1 % 97) % {items}, (x.h1 / 13) % 100, "
            f"{t0} + x.oid * {step} "
            f"FROM (SELECT {maxid} + s.g + 1 AS oid, s.g % 20 AS k, "
            "q.base + (s.g / 20) * m.weight + m.rnk + 1 AS number, "
            f"(({maxid} + s.g + 1) * 2654435761) % 4294967296 AS h1, "
            f"(({maxid} + s.g + 1) * 69069 + 12345) % 2147483647 AS h3 "
            "FROM s JOIN bench_mix m ON m.k = s.g % 20 "
            "JOIN bench_seq q ON q.org_id = m.org_id) x"
        )
    )
    await conn.execute(text("ANALYZE bench_new"))
    joins = (
        "FROM bench_new n JOIN bench_mix m ON m.k = n.k JOIN orders t ON t.id = m.template_id "
        "JOIN bench_first f ON f.i = n.fi JOIN bench_last l ON l.i = n.li "
    )
    created = sql.ts("n.created")
    slot = (
        f"CASE (n.h1 / 5) % 3 WHEN 0 THEN '{SLOTS[0]}' WHEN 1 THEN '{SLOTS[1]}' "
        f"ELSE '{SLOTS[2]}' END"
    )
    day = sql.day("n.created", "1 + n.h1 % 7")
    booked = "n.st < 3 OR n.st >= 10"  # open or done: the master stays booked
    partner_phone = "(20000000 + n.h1 % 10000000)"
    common = {
        "id": "n.order_id",
        "uid": sql.hex(24),
        "token": sql.hex(32),
        "number": "n.number",
        "created_at": created,
        "updated_at": created,
    }
    await _copy(
        conn,
        "orders",
        "t",
        {
            **common,
            "status": "CASE WHEN n.st < 3 THEN t.status WHEN n.st < 10 THEN 'cancelled' "
            "ELSE 'done' END",
            "substatus": "CASE WHEN n.st < 3 THEN t.substatus WHEN n.st < 10 THEN 'cancelled' "
            "ELSE 'done' END",
            "title": "b1.name || ' +1'",
            "customer": sql.merge(
                "t.customer",
                sql.obj(
                    "'first_name'",
                    "f.name",
                    "'last_name'",
                    "l.name",
                    "'phone'",
                    f"'+371' || {partner_phone}",
                ),
            ),
            "preferences": sql.arr(sql.obj("'date'", sql.day_text(day), "'slot'", slot)),
            "booked_day": f"CASE WHEN {booked} THEN {day} END",
            "booked_slot": f"CASE WHEN {booked} THEN {slot} END",
            "search_text": f"b1.folded || ' 1 ' || f.folded || ' ' || l.folded || ' 371' || "
            f"{partner_phone}",
        },
        joins + "JOIN bench_items b1 ON b1.i = n.i1 WHERE m.kind = 'p'",
    )
    restaurant_phone = "(1000000 + n.h1 % 9000000)"
    countdown = workload.COUNTDOWN_SECONDS
    await _copy(
        conn,
        "orders",
        "t",
        {
            **common,
            "status": "CASE WHEN n.st < 5 THEN 'cancelled' WHEN n.st < 10 THEN 'in_work' "
            "ELSE 'done' END",
            "substatus": "CASE WHEN n.st < 5 THEN 'timed_out' WHEN n.st < 10 THEN 'confirmed' "
            "ELSE 'closed' END",
            "customer": sql.merge(
                "t.customer",
                sql.obj(
                    "'first_name'",
                    "f.name",
                    "'last_name'",
                    "l.name",
                    "'phone'",
                    f"'+3902' || {restaurant_phone}",
                    "'email'",
                    "'guest' || n.order_id || '@example.com'",
                ),
            ),
            "search_text": f"m.title_folded || ' ' || f.folded || ' ' || l.folded || ' 3902' || "
            f"{restaurant_phone} || ' guest' || n.order_id || ' example com'",
            "scheduled_at": sql.ts("n.created + 2700"),
            "countdown_started_at": created,
            "countdown_ends_at": sql.ts(f"n.created + {countdown}"),
            "confirmed_at": f"CASE WHEN n.st >= 5 THEN {sql.ts('n.created + 60')} END",
            "timed_out_at": f"CASE WHEN n.st < 5 THEN {sql.ts(f'n.created + {countdown}')} END",
            "closed_at": f"CASE WHEN n.st >= 10 THEN {sql.ts('n.created + 3000')} END",
        },
        joins + "WHERE m.kind = 'r'",
    )
    # Lines: partner lines name the two items the order was given; restaurant lines as is.
    line_item = "CASE WHEN tl.position = 0 THEN b1.{0} ELSE b2.{0} END"
    await _copy(
        conn,
        "order_lines",
        "tl",
        {
            "order_id": "n.order_id",
            "product_id": line_item.format("product_id"),
            "name": line_item.format("name"),
            "snapshot": sql.merge(
                "tl.snapshot",
                sql.obj(
                    "'uid'",
                    f"CAST({line_item.format('item_id')} AS TEXT)",
                    "'item_id'",
                    line_item.format("item_id"),
                    "'category_uid'",
                    line_item.format("category"),
                    "'category'",
                    line_item.format("category"),
                ),
            ),
        },
        "FROM bench_new n JOIN bench_mix m ON m.k = n.k "
        "JOIN order_lines tl ON tl.order_id = m.template_id "
        "JOIN bench_items b1 ON b1.i = n.i1 JOIN bench_items b2 ON b2.i = n.i2 "
        "WHERE m.kind = 'p'",
    )
    await _copy(
        conn,
        "order_lines",
        "tl",
        {"order_id": "n.order_id"},
        "FROM bench_new n JOIN bench_mix m ON m.k = n.k "
        "JOIN order_lines tl ON tl.order_id = m.template_id WHERE m.kind = 'r'",
    )
    # Events: the template's "created", then the move to where the order is now.
    await _copy(
        conn,
        "order_events",
        "te",
        {"order_id": "n.order_id", "at": created},
        "FROM bench_new n JOIN bench_mix m ON m.k = n.k JOIN order_events te ON te.id = m.event_id",
    )
    await _copy(
        conn,
        "order_events",
        "te",
        {
            "order_id": "n.order_id",
            "at": "o.updated_at",
            "kind": "CASE o.substatus WHEN 'done' THEN 'moved' ELSE o.substatus END",
            "from_status": "te.to_status",
            "from_substatus": "te.to_substatus",
            "to_status": "o.status",
            "to_substatus": "o.substatus",
            "data": sql.json("{}"),
        },
        "FROM bench_new n JOIN bench_mix m ON m.k = n.k JOIN order_events te ON te.id = m.event_id "
        "JOIN orders o ON o.id = n.order_id WHERE o.substatus <> te.to_substatus",
    )
    await _copy(
        conn,
        "outbox_events",
        "x",
        {
            "order_id": "n.order_id",
            "created_at": created,
            "published_at": created,
            "payload": sql.obj("'event'", "x.event", "'order'", sql.obj("'uid'", "o.uid")),
        },
        "FROM bench_new n JOIN bench_mix m ON m.k = n.k "
        "JOIN outbox_events x ON x.id = m.outbox_id JOIN orders o ON o.id = n.order_id",
    )
    await _copy(
        conn,
        "coupon_uses",
        "cu",
        {"order_id": "n.order_id", "used_at": created},
        "FROM bench_new n JOIN bench_mix m ON m.k = n.k "
        "JOIN coupon_uses cu ON cu.id = m.coupon_use_id WHERE n.st >= 5",
    )
    await conn.execute(
        text(
            "INSERT INTO slot_usage (location_id, day, slot, used) "
            "SELECT o.location_id, o.booked_day, o.booked_slot, COUNT(*) FROM orders o "
            f"WHERE o.id > {maxid} AND o.booked_day IS NOT NULL "
            "GROUP BY o.location_id, o.booked_day, o.booked_slot "
            "ON CONFLICT (location_id, day, slot) "
            "DO UPDATE SET used = slot_usage.used + excluded.used"
        )
    )


async def _bulk_session(conn: AsyncConnection, sql: Sql) -> None:
    """On PostgreSQL, this session's inserts skip the foreign-key triggers (a superuser's
    ``session_replication_role``): every generated row points at a row that exists by
    construction, and checking a million of them one by one is most of the generation time.
    Without the privilege the checks simply run."""
    if sql.pg:
        # Plans over freshly filled scratch tables: sorts in memory, and no JIT compilation
        # (which costs more than it saves on statements that run once).
        await conn.execute(text("SET work_mem = '64MB'"))
        await conn.execute(text("SET jit = off"))
        try:
            async with conn.begin_nested():
                await conn.execute(text("SET session_replication_role = replica"))
        except DBAPIError:
            pass
        await conn.commit()


async def _check_search_text(conn: AsyncConnection) -> None:
    """``search_text`` of a sample of generated orders is what orderdesk would have stored."""
    rows = (
        await conn.execute(
            text(
                "SELECT o.id, o.title, o.customer, o.search_text FROM orders o "
                "ORDER BY o.id DESC LIMIT 100"
            )
        )
    ).all()
    for order_id, title, customer, stored in random.sample(rows, min(len(rows), 40)):
        if isinstance(customer, str):
            customer = json.loads(customer)
        expected = fold(
            " ".join(
                [
                    title,
                    customer.get("first_name", ""),
                    customer.get("last_name", ""),
                    customer.get("phone", ""),
                    customer.get("email", ""),
                ]
            )
        )
        if stored != expected:
            raise RuntimeError(
                f"order {order_id}: search_text {stored!r}, orderdesk would store {expected!r}"
            )


async def _analyze(engine: AsyncEngine, tables: list[str]) -> None:
    """Statistics and visibility as autovacuum would leave them, and a checkpoint, so that the
    measurement that follows does not pay for the load that preceded it."""
    if engine.dialect.name == "postgresql":
        auto = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with auto.connect() as conn:
            for table in tables:
                await conn.execute(text(f"VACUUM ANALYZE {table}"))
            # Only superusers may checkpoint; without it the next measurement is merely noisier.
            with contextlib.suppress(DBAPIError):
                await conn.execute(text("CHECKPOINT"))
        return
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()
        # Outside any transaction (the engine begins every one with BEGIN IMMEDIATE).
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
