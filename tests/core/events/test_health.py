"""Subscriptions failing for days are disabled by the background loop, and enabled by hand.

Deliveries die through the real dispatcher against a receiver that answers 500, with the clock
moved by hand; every scenario runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import FakeClock
from tests.core.events.conftest import (
    Misbehaviour,
    Receiver,
    Shop,
    ShopFactory,
    deliveries,
    drain,
)

from orderdesk.background import Background
from orderdesk.core.events.admin import list_deliveries
from orderdesk.core.events.dispatcher import Dispatcher
from orderdesk.core.events.health import (
    DEAD_FOR,
    UnknownSubscription,
    disable_failing,
    enable,
    list_subscriptions,
)
from orderdesk.db.engine import transaction

Sessions = async_sessionmaker[AsyncSession]


async def subscribe(shop: Shop, receiver: Receiver) -> tuple[int, str]:
    secret = secrets.token_urlsafe(16)
    url = receiver.endpoint(shop.kind, secret)
    return (await shop.subscribe(url, secret=secret)).id, url


async def disable(sessions: Sessions, clock: FakeClock) -> list[int]:
    async with transaction(sessions) as session:
        return await disable_failing(session, now=clock())


async def states(sessions: Sessions) -> dict[int, str]:
    async with sessions() as session:
        return {row.id: row.state for row in await list_subscriptions(session)}


async def test_subscription_dead_for_three_days_is_disabled_once_and_gets_nothing_new(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shop = await make_shop("partner")
    failing, failing_url = await subscribe(shop, receiver)
    healthy, _ = await subscribe(shop, receiver)
    receiver.misbehave(Misbehaviour.ERROR, when=lambda r: failing_url.endswith(r.path))
    started = clock()
    await shop.event(await shop.order())
    await drain(dispatcher, sessions, clock)
    assert {d.subscription_id: d.state for d in await deliveries(sessions)} == {
        failing: "dead",
        healthy: "delivered",
    }

    clock.set(started + DEAD_FOR - timedelta(minutes=1))
    assert await disable(sessions, clock) == []
    clock.set(started + DEAD_FOR + timedelta(minutes=1))
    with caplog.at_level(logging.WARNING, logger="orderdesk.core.events.health"):
        assert await disable(sessions, clock) == [failing]
        assert await disable(sessions, clock) == []
    [warning] = [r for r in caplog.records if r.name == "orderdesk.core.events.health"]
    assert f"subscription {failing} ({failing_url}) disabled" in warning.getMessage()
    assert await states(sessions) == {failing: "disabled", healthy: "active"}
    async with sessions() as session:
        listed = await list_deliveries(session, state=None, limit=10)
    assert {(row.subscription_id, row.subscription_state) for row in listed} == {
        (failing, "disabled"),
        (healthy, "active"),
    }

    receiver.heal()
    sent_before = len(receiver.requests)
    await shop.event(await shop.order())
    await drain(dispatcher, sessions, clock)
    new = receiver.requests[sent_before:]
    assert len(new) == 1 and not failing_url.endswith(new[0].path)
    assert [d.subscription_id for d in await deliveries(sessions)].count(failing) == 1


async def test_enable_resumes_pending_deliveries_and_forgives_earlier_failures(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await make_shop("restaurant")
    subscription, _ = await subscribe(shop, receiver)
    receiver.misbehave(Misbehaviour.ERROR)
    started = clock()
    await shop.event(await shop.order())
    await drain(dispatcher, sessions, clock)
    clock.set(started + DEAD_FOR - timedelta(hours=1))
    pending = await shop.event(await shop.order())
    assert await dispatcher.run_once() == 2  # fanned out, attempted, failed: retried later
    clock.set(started + DEAD_FOR + timedelta(hours=1))
    assert await disable(sessions, clock) == [subscription]
    sent = len(receiver.requests)
    missed = await shop.event(await shop.order())
    await dispatcher.run_once()
    assert len(receiver.requests) == sent  # the pending retry waits
    assert missed not in {d.event_id for d in await deliveries(sessions)}

    receiver.heal()
    async with transaction(sessions) as session:
        assert await enable(session, subscription, now=clock()) is True
    assert await disable(sessions, clock) == []  # the old dead delivery no longer counts
    assert await states(sessions) == {subscription: "active"}
    await drain(dispatcher, sessions, clock)
    assert [r.event_id for r in receiver.delivered()] == [pending]

    async with transaction(sessions) as session:
        assert await enable(session, subscription, now=clock()) is False
        with pytest.raises(UnknownSubscription):
            await enable(session, subscription + 1000, now=clock())


async def test_a_success_after_the_dead_delivery_keeps_the_subscription(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await make_shop("partner")
    subscription, _ = await subscribe(shop, receiver)
    first = await shop.event(await shop.order())
    receiver.misbehave(Misbehaviour.ERROR, when=lambda r: r.event_id == first)
    started = clock()
    await drain(dispatcher, sessions, clock)
    later = await shop.event(await shop.order())
    await drain(dispatcher, sessions, clock)
    assert [r.event_id for r in receiver.delivered()] == [later]

    clock.set(started + 2 * DEAD_FOR)
    assert await disable(sessions, clock) == []
    assert await states(sessions) == {subscription: "active"}


async def test_background_step_counts_what_it_disabled(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await make_shop("partner")
    await subscribe(shop, receiver)
    await subscribe(shop, receiver)
    receiver.misbehave(Misbehaviour.ERROR)
    started = clock()
    await shop.event(await shop.order())
    await drain(dispatcher, sessions, clock)
    background = Background(sessions, clock)
    assert await background.disable_failing_subscriptions() == 0
    clock.set(started + DEAD_FOR + timedelta(seconds=1))
    assert await background.disable_failing_subscriptions() == 2
    assert await background.disable_failing_subscriptions() == 0
