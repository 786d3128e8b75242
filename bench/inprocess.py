"""The application run inside the harness: template orders, and SQL statements per create.

Both go through the real HTTP routes (httpx on the ASGI app, as the tests do), so the rows the
bulk generator copies are exactly what orderdesk writes, and the statement counts are those of
a real request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench import workload
from orderdesk.app import create_app
from orderdesk.core.catalog.search import fold
from orderdesk.http.state import AppState
from orderdesk.settings import Settings

# Transaction control is not a statement of the request's own (and asyncpg does not even send
# BEGIN through the cursor), so it is left out on both databases alike.
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@asynccontextmanager
async def app_client(
    url: str, media_dir: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    settings = Settings(database_url=url, media_dir=media_dir, rate_limit_enabled=False)
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client, app.state.orderdesk


async def partner_token(client: httpx.AsyncClient, partner: workload.Partner) -> str:
    response = await client.post(
        "/partner/auth/authorize", json={"login": partner.login, "password": workload.PASSWORD}
    )
    _ok(response)
    return str(response.json()["data"]["token"])


def restaurant_headers(restaurant: workload.Restaurant) -> dict[str, str]:
    return {
        "X-Client-Id": restaurant.client_id,
        "X-Client-Secret": restaurant.client_secret,
        "Content-Type": "application/json",
    }


def _ok(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    if (
        response.status_code != 200
        or body.get("status", "ok") != "ok"
        or body.get("success", True) is not True
    ):
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} failed: "
            f"{response.status_code} {response.text[:2000]}"
        )
    return body


class _Creates:
    """Fresh valid partner and restaurant orders through the API, numbered from ``start``."""

    def __init__(self, client: httpx.AsyncClient, start: int) -> None:
        self.client = client
        self.n = start
        now = datetime.now(UTC)
        self.partner_slot = workload.partner_slots(now.date())[0]
        self.restaurant_slot = workload.restaurant_slots(now)[0]
        self.tokens: dict[str, str] = {}

    async def partner(self, partner: workload.Partner, store: str) -> dict[str, Any]:
        if partner.name not in self.tokens:
            self.tokens[partner.name] = await partner_token(self.client, partner)
        self.n += 1
        body = workload.fill(workload.partner_body(store), self.n, self.partner_slot)
        return _ok(
            await self.client.post(
                "/partner/order/create",
                content=body.encode(),
                headers={"token": self.tokens[partner.name], "Content-Type": "application/json"},
            )
        )

    async def restaurant(
        self, restaurant: workload.Restaurant, location: workload.Location
    ) -> dict[str, Any]:
        self.n += 1
        body = workload.fill(workload.restaurant_body(location), self.n, self.restaurant_slot)
        return _ok(
            await self.client.post(
                "/api/order/create", content=body.encode(), headers=restaurant_headers(restaurant)
            )
        )


async def create_templates(url: str, media_dir: Path) -> None:
    """One order per store and per restaurant location: the rows bulk orders are copied from."""
    async with app_client(url, media_dir) as (client, _state):
        creates = _Creates(client, 0)
        for partner in workload.PARTNERS:
            for store, _tz in partner.stores:
                await creates.partner(partner, store)
        for restaurant in workload.RESTAURANTS:
            for location in restaurant.locations:
                await creates.restaurant(restaurant, location)


@contextmanager
def _statements(state: AppState) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine sends while the block runs, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(state.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(state.engine.sync_engine, "before_cursor_execute", record)


def _kinds(statements: list[tuple[str, Any]]) -> dict[str, int]:
    counted = Counter(s.lstrip().split(None, 1)[0].upper() for s, _ in statements if s.strip())
    return {kind: n for kind, n in sorted(counted.items()) if kind not in _CONTROL}


async def count_statements(url: str, media_dir: Path) -> dict[str, dict[str, int]]:
    """Statements of one partner and one restaurant create, each the third of its kind in a
    fresh process: the first ones warm whatever the process caches (tokens, catalog rows)."""
    partner = workload.PARTNERS[0]
    restaurant = workload.RESTAURANTS[0]
    result: dict[str, dict[str, int]] = {}
    async with app_client(url, media_dir) as (client, state):
        creates = _Creates(client, 900_000_000)
        plans: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
            ("partner", lambda: creates.partner(partner, partner.stores[0][0])),
            ("restaurant", lambda: creates.restaurant(restaurant, restaurant.locations[0])),
        ]
        for name, create in plans:
            await create()
            await create()
            with _statements(state) as seen:
                await create()
            kinds = _kinds(seen)
            result[name] = {"total": sum(kinds.values()), **kinds}
    return result


# The partner order lists whose plans matter most at a million orders (issue 9 asks to show
# that the text query is served by an index).
EXPLAINED = {
    "order list": {"limit": "20"},
    "order list, text query": {"limit": "20", "filter[query]": fold(workload.RARE_LAST_NAMES[0])},
    "order list, store + status": {
        "limit": "20",
        "filter[store_ids][]": workload.PARTNERS[0].stores[0][0],
        "filter[filter][]": "open",
    },
}


async def explain_order_lists(url: str, media_dir: Path) -> dict[str, str]:
    """The database's plan (PostgreSQL: ``EXPLAIN ANALYZE``) of the statement that selects
    the orders of each list in :data:`EXPLAINED`, captured from a real request."""
    plans: dict[str, str] = {}
    async with app_client(url, media_dir) as (client, state):
        token = await partner_token(client, workload.PARTNERS[0])
        pg = state.engine.dialect.name == "postgresql"
        for name, params in EXPLAINED.items():
            with _statements(state) as seen:
                _ok(
                    await client.get("/partner/order/list", params=params, headers={"token": token})
                )
            found = [
                (sql, args)
                for sql, args in seen
                if sql.lstrip().upper().startswith(("SELECT", "WITH"))
                and "orders" in sql
                and "LIMIT" in sql.upper()
            ]
            if not found:
                plans[name] = "(no statement selecting orders with a LIMIT was seen)"
                continue
            sql, args = found[0]
            explain = ("EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN ") + sql
            async with state.engine.connect() as conn:
                rows = (await conn.exec_driver_sql(explain, tuple(args or ()))).all()
            # PostgreSQL: one line per row; SQLite: (id, parent, 0, detail) per plan step.
            plans[name] = "\n".join(str(row[0] if pg else row[-1]) for row in rows)
    return plans
