"""The per-worker configuration cache never serves what the database no longer says.

The PostgreSQL tests drive the real application (its lifespan starts the listener) and make
changes from *outside* it, through an engine of their own, as another worker or ``orderdesk
apply`` would: the change must reach the application through the database's notification, not
through anything shared in memory.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.factories import login, make_partner, order_body

from orderdesk.app import create_app
from orderdesk.db.cache import CONFIG_TABLES, ConfigCache
from orderdesk.db.engine import create_engine
from orderdesk.http.state import AppState
from orderdesk.settings import Settings

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def test_a_value_read_before_an_invalidation_is_not_stored() -> None:
    cache = ConfigCache()
    cache.enabled = True
    generation = cache.generation  # a read starts...
    cache.invalidate()  # ...a change is heard meanwhile...
    cache.put("key", "old value", generation)  # ...and the old value comes back
    assert len(cache) == 0
    cache.put("key", "new value", cache.generation)
    assert cache.get("key") == "new value"


def test_the_cache_keeps_its_bound_and_stores_nothing_while_disabled() -> None:
    cache = ConfigCache(max_entries=3)
    cache.put("off", 1, cache.generation)
    assert len(cache) == 0
    cache.enabled = True
    for i in range(5):
        cache.put(i, i, cache.generation)
    assert len(cache) == 3 and cache.get(0) is not cache.get(4)


def test_entries_expire() -> None:
    cache = ConfigCache(ttl=-1.0)
    cache.enabled = True
    cache.put("key", "value", cache.generation)
    assert cache.get("key") is not "value"  # noqa: F632 - the sentinel, whatever it is


@dataclass
class Live:
    state: AppState
    client: httpx.AsyncClient


@pytest.fixture
async def live(database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The application with its listener connected, and a client of it."""
    settings = Settings(
        database_url=database_url, media_dir=tmp_path / "media", rate_limit_enabled=False
    )
    application = create_app(settings, background=False)
    async with application.router.lifespan_context(application):
        state: AppState = application.state.orderdesk
        for _ in range(100):  # the listener connects in the background
            if state.config_cache.enabled:
                break
            await asyncio.sleep(0.05)
        assert state.config_cache.enabled
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t"
        ) as client:
            yield Live(state, client)


@pytest.fixture
async def outsider(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> float:
    """How long until ``check()`` holds; fails after ``seconds``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        assert loop.time() - started < seconds, "the change never reached the application"
        await asyncio.sleep(0.01)
    return loop.time() - started


async def _cached_partner(live: Live) -> dict[str, str]:
    """A new partner's token headers, after a request that put its token in the cache."""
    headers = await login(live.client, await make_partner(live.state))
    assert (await live.client.get("/partner/store/list", headers=headers)).status_code == 200
    return headers


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


@POSTGRES_ONLY
async def test_a_token_revoked_by_another_process_is_refused(
    live: Live, outsider: AsyncEngine
) -> None:
    state, client = live.state, live.client
    headers = await _cached_partner(live)
    assert len(state.config_cache) > 0  # the token is cached now

    async with outsider.begin() as connection:
        await connection.execute(
            text("UPDATE api_tokens SET revoked_at = now() WHERE revoked_at IS NULL")
        )

    async def refused() -> bool:
        response = await client.get("/partner/store/list", headers=headers)
        return response.status_code == 401

    await _eventually(refused)


@POSTGRES_ONLY
async def test_an_item_changed_by_another_process_is_priced_anew(
    live: Live, outsider: AsyncEngine
) -> None:
    state, client = live.state, live.client
    partner = await make_partner(state, masters={"0712": 50, "1217": 50, "1721": 50})
    headers = await login(client, partner)

    async def total() -> int:
        response = await client.post(
            "/partner/order/create", headers=headers, json=order_body(partner, [(_day(3), "1217")])
        )
        assert response.status_code == 200, response.text
        async with outsider.connect() as connection:
            price = await connection.scalar(
                text("SELECT unit_price FROM order_lines WHERE order_id = :id"),
                {"id": response.json()["data"]["_id"]},
            )
        return int(price)

    before = await total()
    async with outsider.begin() as connection:
        await connection.execute(
            text("UPDATE products SET price = price + 12345 WHERE item_id = :item"),
            {"item": partner.items[0]},
        )

    async def repriced() -> bool:
        return await total() == before + 12345

    await _eventually(repriced)


@POSTGRES_ONLY
async def test_a_change_made_through_the_application_is_seen_at_once(
    live: Live,
) -> None:
    client = live.client
    headers = await _cached_partner(live)
    revoked = await client.post("/partner/auth/revoke", headers=headers)
    assert revoked.status_code == 200
    # No waiting: the worker that revoked empties its own cache with the commit.
    assert (await client.get("/partner/store/list", headers=headers)).status_code == 401


@POSTGRES_ONLY
async def test_without_its_listener_a_worker_caches_nothing_until_it_listens_again(
    live: Live, outsider: AsyncEngine
) -> None:
    state, client = live.state, live.client
    headers = await _cached_partner(live)
    async with outsider.begin() as connection:
        killed = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'orderdesk-config-listener' "
                "AND datname = current_database()"
            )
        )
    assert killed >= 1  # this application's listener, and any other app's on this database

    async def disabled() -> bool:
        return not state.config_cache.enabled

    await _eventually(disabled)
    assert len(state.config_cache) == 0
    assert (await client.get("/partner/store/list", headers=headers)).status_code == 200
    assert len(state.config_cache) == 0  # read, but not kept

    async def listening() -> bool:
        return state.config_cache.enabled

    await _eventually(listening, seconds=10)
    assert (await client.get("/partner/store/list", headers=headers)).status_code == 200
    assert len(state.config_cache) > 0


@POSTGRES_ONLY
async def test_a_setup_change_from_another_process_reaches_every_cached_read(
    live: Live, outsider: AsyncEngine
) -> None:
    """A store's capacity lowered to 0 by another process: the next booking is refused."""
    state, client = live.state, live.client
    partner = await make_partner(state, masters={"0712": 50, "1217": 50, "1721": 50})
    headers = await login(client, partner)
    body = order_body(partner, [(_day(4), "0712")])
    assert (
        await client.post("/partner/order/create", headers=headers, json=body)
    ).status_code == 200
    async with outsider.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO capacity_overrides (location_id, day, slot, capacity) "
                "SELECT id, :day, '0712', 0 FROM locations WHERE key = :store"
            ),
            {"day": date.fromisoformat(_day(4)), "store": partner.stores[0]},
        )

    async def full() -> bool:
        # +371 20...: every number of that range is a valid Latvian mobile (not all of 23... are)
        body["customer"]["phone_number"] = f"+371 20{secrets.randbelow(10**6):06d}"
        response = await client.post("/partner/order/create", headers=headers, json=body)
        if response.status_code == 200:
            return False
        assert response.json()["data"][0]["field"] == "datetime", response.text
        return True

    await _eventually(full)


@POSTGRES_ONLY
async def test_every_cached_table_has_its_notifying_trigger(outsider: AsyncEngine) -> None:
    """The tables the cache watches for local writes and those migration 0004 put triggers on
    are two lists in two places; a table in one and not the other would be served stale."""
    async with outsider.connect() as connection:
        triggered = set(
            await connection.scalars(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname LIKE '%\\_config\\_changed' ESCAPE '\\'"
                )
            )
        )
    assert triggered == set(CONFIG_TABLES)
