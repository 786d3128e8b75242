"""Item search at 100,000 items: the word-prefix index against a full scan, on both databases.

Prints, per database, the median time of ``find_products`` for a few queries and the ratio of a
naive ``LIKE '%word%'`` scan to it (how much the index buys), plus the ratio of the indexed query
at 100,000 items to the same at 1,000 items (how flat it stays as the catalog grows). Ratios come
from one run on one machine, so they are comparable with each other, not across machines.

    .venv/bin/python -m bench.item_search [--items 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import insert, select

from bench.workload import COLOURS, KINDS, LINES
from orderdesk.core.catalog.models import Product
from orderdesk.core.catalog.search import fold
from orderdesk.core.catalog.service import find_products
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.db.migrate import migrate

QUERIES = ["wardr", "pax white", "etagere", "sorli desk 120", "kitchen cab oak"]
PG_ADMIN = os.environ.get("ORDERDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _title(i: int) -> str:
    return (
        f"{LINES[i % 10]} {KINDS[(i // 10) % 10]} {60 + (i // 100) % 180}x"
        f"{80 + (i // 7) % 160}, {COLOURS[(i // 3) % 8]} #{i}"
    )


async def _median(fn: Callable[[], Awaitable[object]], repeat: int = 25) -> float:
    await fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def _measure(url: str, items: int) -> dict[str, float]:
    engine = create_engine(url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    results: dict[str, float] = {}
    inserted = 0
    for target in (1_000, items):
        async with sessions() as session, session.begin():
            rows = [
                {
                    "item_id": i + 1,
                    "uid": str(i + 1),
                    "name": _title(i),
                    "search_text": fold(_title(i)),
                    "currency": "EUR",
                    "services": {"delivery": 1000},
                }
                for i in range(inserted, target)
            ]
            for start in range(0, len(rows), 5_000):
                await session.execute(insert(Product), rows[start : start + 5_000])
        inserted = target
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                await conn.exec_driver_sql("ANALYZE products")  # as autovacuum would
        async with sessions() as session:
            for q in QUERIES:

                async def indexed(q: str = q) -> object:
                    return await find_products(session, q, organization_id=None, limit=20)

                async def scan(q: str = q) -> object:
                    # What a search without the index does: substring tests on every row.
                    words = fold(q).split()
                    stmt = (
                        select(Product.id)
                        .where(*(Product.search_text.contains(w) for w in words))
                        .order_by(Product.id)
                        .limit(20)
                    )
                    return list(await session.scalars(stmt))

                results[f"{target}:{q}"] = await _median(indexed)
                results[f"{target}:{q}:scan"] = await _median(scan, repeat=7)
    await engine.dispose()
    return results


def _report(name: str, items: int, r: dict[str, float]) -> None:
    print(f"\n{name}, {items:,} items: median of 25 searches, limit 20")
    print(f"  {'query':18} {'indexed':>10} {'vs 1,000 items':>15} {'unindexed scan / indexed':>26}")
    for q in QUERIES:
        fast, scan = r[f"{items}:{q}"], r[f"{items}:{q}:scan"]
        print(
            f"  {q!r:18} {fast * 1000:7.2f} ms {fast / r[f'1000:{q}']:14.1f}x {scan / fast:25.2f}x"
        )
    print(
        "  (the scan stops at the first 20 matches in id order and ranks nothing; the index"
        " ranks every match, so broad queries pay for ranking and narrow ones win most)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _report(
            "SQLite (FTS5)", args.items, await _measure(f"sqlite:///{tmp}/bench.db", args.items)
        )
    try:
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"\nPostgreSQL skipped: {exc}")
        return
    name = f"orderdesk_bench_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
        _report("PostgreSQL (GIN tsvector)", args.items, await _measure(url, args.items))
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
