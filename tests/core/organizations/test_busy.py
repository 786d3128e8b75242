"""Busy mode: pausing a location's intake for a while or until resumed, and how it ends.

What each dialect answers for a paused location is in tests/dialects/test_busy_and_sold_out.py;
here are the service's own rules, and the PostgreSQL worker cache: a pause written by another
process reaches the next order of a worker that has the location cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.factories import login, make_partner, order_body

from orderdesk.app import create_app
from orderdesk.core.catalog import sold_out
from orderdesk.core.catalog.models import Product
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.core.organizations import busy
from orderdesk.core.organizations.models import Location
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.http.state import AppState
from orderdesk.settings import Settings

NOW = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)
ACTOR = "operator:ops@example.com"


def _location(paused_at: datetime | None, paused_until: datetime | None) -> Location:
    return Location(
        key="riga", timezone="Europe/Riga", paused_at=paused_at, paused_until=paused_until
    )


def test_a_location_never_paused_takes_orders() -> None:
    location = _location(None, None)
    assert (busy.paused(location, NOW), busy.paused_until(location, NOW)) == (False, None)


def test_a_timed_pause_ends_by_itself_at_its_end() -> None:
    end = NOW + timedelta(minutes=30)
    location = _location(NOW, end)
    assert busy.paused_until(location, NOW) == end
    assert busy.paused(location, end - timedelta(microseconds=1))
    assert not busy.paused(location, end)
    assert busy.paused_until(location, end) is None


def test_an_open_ended_pause_lasts_until_resumed() -> None:
    location = _location(NOW, None)
    assert busy.paused(location, NOW + timedelta(days=400))
    assert busy.paused_until(location, NOW) == busy.UNTIL_RESUMED
    assert "until it is resumed" in busy.pause_message(location, NOW)


def test_the_message_says_the_end_in_the_locations_time() -> None:
    location = _location(NOW, NOW + timedelta(minutes=90))
    # 10:30 UTC is 12:30 in Riga (EET); the date is left out on the same local day.
    assert busy.pause_message(location, NOW).endswith("until 12:30 (Europe/Riga)")
    later = _location(NOW, NOW + timedelta(hours=20))
    assert "until 2031-03-11 07:00" in busy.pause_message(later, NOW)


async def _store_id(state: AppState) -> int:
    partner = await make_partner(state)
    async with state.sessions() as session:
        found = await session.scalar(select(Location.id).where(Location.key == partner.stores[0]))
    assert found is not None
    return found


@pytest.mark.parametrize("minutes", [0, -5, 1441, True])
async def test_a_pause_outside_1_to_1440_minutes_is_refused(state: AppState, minutes: int) -> None:
    location_id = await _store_id(state)
    with pytest.raises(ValidationFailed) as refused:
        async with state.transaction() as session:
            await busy.pause_location(session, location_id, minutes=minutes, actor=ACTOR, now=NOW)
    assert refused.value.errors[0].path == "minutes"
    async with state.sessions() as session:
        location = await session.get(Location, location_id)
        assert location is not None and not busy.paused(location, NOW)


async def test_pausing_again_replaces_the_pause_and_resuming_clears_it(state: AppState) -> None:
    location_id = await _store_id(state)
    async with state.transaction() as session:
        await busy.pause_location(session, location_id, minutes=1440, actor=ACTOR, now=NOW)
    async with state.transaction() as session:
        location = await busy.pause_location(
            session, location_id, minutes=None, actor="operator:other", now=NOW
        )
        assert busy.paused_until(location, NOW + timedelta(days=2)) == busy.UNTIL_RESUMED
    async with state.sessions() as session:
        stored = await session.get(Location, location_id)
        assert stored is not None
        assert (stored.paused_at, stored.paused_until, stored.paused_by) == (
            NOW,
            None,
            "operator:other",
        )
    async with state.transaction() as session:
        await busy.resume_location(session, location_id, actor=ACTOR, now=NOW)
    async with state.sessions() as session:
        stored = await session.get(Location, location_id)
        assert stored is not None and not busy.paused(stored, NOW)
        assert (stored.paused_at, stored.paused_until, stored.paused_by) == (None, None, None)


async def test_an_unknown_location_is_not_found(state: AppState) -> None:
    with pytest.raises(NotFound):
        async with state.transaction() as session:
            await busy.pause_location(session, 2_000_000_000, minutes=5, actor=ACTOR, now=NOW)


# --------------------------------------------------------------------------------------------
# PostgreSQL: another process pauses, a worker with the location cached sees it

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
async def live(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[AppState, Any]]:
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
            yield state, client


@pytest.fixture
async def outsider(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        assert loop.time() - started < seconds, "the change never reached the application"
        await asyncio.sleep(0.01)


@POSTGRES_ONLY
async def test_a_pause_and_a_snooze_from_another_process_reach_a_caching_worker(
    live: tuple[AppState, httpx.AsyncClient], outsider: AsyncEngine
) -> None:
    state, client = live
    partner = await make_partner(state, masters={"0712": 50, "1217": 50, "1721": 50})
    headers = await login(client, partner)
    body = order_body(partner, [((date.today() + timedelta(days=3)).isoformat(), "1217")])

    async def status() -> int:
        response = await client.post("/partner/order/create", headers=headers, json=body)
        return response.status_code

    assert await status() == 200  # the store, the item and its snoozes are cached now
    assert len(state.config_cache) > 0
    others = create_sessionmaker(outsider)
    async with others() as session, session.begin():
        location = await session.scalar(select(Location).where(Location.key == partner.stores[0]))
        assert location is not None
        await busy.pause_location(session, location.id, minutes=30, actor=ACTOR, now=state.now())

    async def refused() -> bool:
        return await status() == 422

    await _eventually(refused)

    async with others() as session, session.begin():
        await busy.resume_location(session, location.id, actor=ACTOR, now=state.now())

    async def accepted() -> bool:
        return await status() == 200

    await _eventually(accepted)

    async with others() as session, session.begin():
        item = await session.scalar(select(Product.id).where(Product.item_id == partner.items[0]))
        assert item is not None
        await sold_out.mark_sold_out(
            session, item, location.id, until=None, actor=ACTOR, now=state.now()
        )
    await _eventually(refused)
