"""Webhook delivery end to end: outbox → deliveries → signed POSTs to a real local receiver.

Time is a hand-moved clock: tests run dispatcher rounds and jump the clock to the next scheduled
retry instead of sleeping. Every scenario runs on SQLite and on PostgreSQL; the multi-process
guarantees (no double claim, no duplicate fan-out) are checked on PostgreSQL with two engines.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import FakeClock
from tests.core.events.conftest import (
    DISPATCH_TIMEOUT,
    Misbehaviour,
    ReceivedRequest,
    Receiver,
    Shop,
    ShopFactory,
    deliveries,
    drain,
)
from tests.servers import free_port

from orderdesk.background import run_worker
from orderdesk.core.events.admin import list_deliveries, replay
from orderdesk.core.events.dispatcher import Dispatcher, default_client, fan_out
from orderdesk.core.events.models import DeliveryAttempt, OutboxEvent, WebhookDelivery
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction

Sessions = async_sessionmaker[AsyncSession]
TIMEOUT = DISPATCH_TIMEOUT


async def subscribed(make_shop: ShopFactory, receiver: Receiver, kind: str = "partner") -> Shop:
    shop = await make_shop(kind)
    secret = secrets.token_urlsafe(16)
    await shop.subscribe(receiver.endpoint(kind, secret), secret=secret)
    return shop


async def attempts_of(sessions: Sessions, delivery_id: int) -> list[DeliveryAttempt]:
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_id == delivery_id)
                    .order_by(DeliveryAttempt.id)
                )
            ).all()
        )


def successes_per_delivery(receiver: Receiver) -> Counter[int]:
    return Counter(r.delivery_id for r in receiver.delivered())


async def test_every_event_reaches_every_active_subscriber_signed(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    partner = await subscribed(make_shop, receiver, "partner")
    restaurant = await subscribed(make_shop, receiver, "restaurant")
    unsubscribed = await make_shop("partner")
    event_ids = []
    for shop in (partner, restaurant):
        for _ in range(3):
            order = await shop.order()
            event_ids += [await shop.event(order), await shop.event(order, "order.closed")]
    silent_event = await unsubscribed.event(await unsubscribed.order())

    await drain(dispatcher, sessions, clock)

    assert sorted(r.event_id for r in receiver.requests) == sorted(event_ids)
    assert all(r.signature_valid and r.answered == 200 for r in receiver.requests)
    async with sessions() as session:
        outbox = {e.id: e for e in await session.scalars(select(OutboxEvent))}
    assert all(e.published_at is not None for e in outbox.values())
    for request in receiver.requests:
        from_restaurant = outbox[request.event_id].organization_id == restaurant.organization_id
        # The event id leads the body, in the dialect's field, equal to X-Orderdesk-Event.
        id_field = "event_id" if from_restaurant else "id"
        assert next(iter(request.payload)) == id_field
        assert request.payload == {
            id_field: request.headers["x-orderdesk-event"],
            **outbox[request.event_id].payload,
        }
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "orderdesk-webhooks"
        assert ("x-xmenu-signature" in request.headers) == from_restaurant
        assert ("x-orderdesk-signature" in request.headers) != from_restaurant
    rows = await deliveries(sessions)
    assert {d.id for d in rows} == {r.delivery_id for r in receiver.requests}
    assert all(
        d.state == "delivered" and d.attempts == 1 and d.delivered_at == clock() for d in rows
    )
    assert silent_event not in {d.event_id for d in rows}


async def test_inactive_subscription_gets_nothing(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await make_shop("restaurant")
    await shop.subscribe(receiver.endpoint("restaurant", "active"), secret="active")
    muted_url = receiver.endpoint("restaurant", "inactive")
    await shop.subscribe(muted_url, secret="inactive", active=False)
    await shop.event(await shop.order())

    await drain(dispatcher, sessions, clock)

    assert len(receiver.delivered()) == 1
    assert not [r for r in receiver.requests if muted_url.endswith(r.path)]
    assert len(await deliveries(sessions)) == 1


async def test_each_kind_of_failure_is_retried_with_backoff_and_logged(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await subscribed(make_shop, receiver)
    await shop.event(await shop.order())
    receiver.misbehave(Misbehaviour.ERROR, times=1)
    receiver.misbehave(Misbehaviour.CLOSE, times=1)
    receiver.misbehave(Misbehaviour.HANG, times=1)

    await drain(dispatcher, sessions, clock)

    [delivery] = await deliveries(sessions)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 4, 200)
    assert delivery.last_error is None
    assert successes_per_delivery(receiver) == {delivery.id: 1}
    log = await attempts_of(sessions, delivery.id)
    assert [a.status_code for a in log] == [500, None, None, 200]
    assert log[0].error == "HTTP 500: boom"
    assert log[1].error and "RemoteProtocolError" in log[1].error
    assert log[2].error == f"timed out after {TIMEOUT:g} s"
    assert log[2].duration_ms >= TIMEOUT * 1000 * 0.9
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(log)]
    for gap, base in zip(gaps, (10, 20, 40), strict=True):
        assert base <= gap <= base * 1.1


async def test_unreachable_receiver_is_retried_later(
    sessions: Sessions,
    make_shop: ShopFactory,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await make_shop("partner")
    await shop.subscribe(f"http://127.0.0.1:{free_port()}/nobody-home")
    await shop.event(await shop.order())

    assert await dispatcher.run_once() == 2

    [delivery] = await deliveries(sessions)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error and "ConnectError" in delivery.last_error
    wait = (delivery.next_attempt_at - clock()).total_seconds()
    assert 10 <= wait <= 11


async def test_receiver_failing_first_three_attempts_still_gets_each_event_once(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await subscribed(make_shop, receiver)
    events = []
    for _ in range(4):
        order = await shop.order()
        events += [await shop.event(order), await shop.event(order, "order.status_changed")]
    receiver.misbehave(Misbehaviour.ERROR, times=3)

    await drain(dispatcher, sessions, clock)

    rows = await deliveries(sessions)
    assert [d.state for d in rows] == ["delivered"] * len(events)
    assert successes_per_delivery(receiver) == {d.id: 1 for d in rows}
    assert sum(d.attempts for d in rows) == len(events) + 3
    async with sessions() as session:
        logged = await session.scalar(select(func.count()).select_from(DeliveryAttempt))
    assert logged == len(events) + 3
    assert [r.answered for r in receiver.requests].count(500) == 3
    assert_in_order_per_order(receiver)


def assert_in_order_per_order(receiver: Receiver) -> None:
    """Per endpoint and order, no event is sent before every earlier event was delivered."""
    by_key: dict[tuple[str, object], list[ReceivedRequest]] = defaultdict(list)
    for request in receiver.requests:
        by_key[request.path, request.payload["data"]["order_id"]].append(request)
    for requests in by_key.values():
        events = sorted({r.event_id for r in requests})
        delivered: set[int] = set()
        for request in requests:
            assert {e for e in events if e < request.event_id} <= delivered
            if request.answered == 200:
                delivered.add(request.event_id)


async def test_later_event_of_an_order_waits_for_its_failing_first_event(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await subscribed(make_shop, receiver)
    order = await shop.order()
    first = await shop.event(order)
    second = await shop.event(order, "order.status_changed")
    receiver.misbehave(Misbehaviour.ERROR, times=3, when=lambda r: r.event_id == first)

    await dispatcher.run_once()
    await dispatcher.run_once()
    assert [r.event_id for r in receiver.requests] == [first]

    await drain(dispatcher, sessions, clock)

    assert [(r.event_id, r.answered) for r in receiver.requests] == [
        (first, 500),
        (first, 500),
        (first, 500),
        (first, 200),
        (second, 200),
    ]


async def test_other_orders_are_not_held_up_by_a_failing_one(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    dispatcher: Dispatcher,
) -> None:
    shop = await subscribed(make_shop, receiver)
    stuck_order, other_order = await shop.order(), await shop.order()
    stuck = await shop.event(stuck_order)
    await shop.event(stuck_order, "order.status_changed")
    others = [await shop.event(other_order), await shop.event(other_order, "order.closed")]
    receiver.misbehave(Misbehaviour.ERROR, when=lambda r: r.event_id == stuck)

    for _ in range(3):
        await dispatcher.run_once()

    assert [r.event_id for r in receiver.delivered()] == others
    assert [r.event_id for r in receiver.requests if r.answered != 200] == [stuck]


async def test_delivery_dies_after_24h_and_replay_delivers_it_then_what_waited(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    shop = await subscribed(make_shop, receiver)
    order = await shop.order()
    first = await shop.event(order)
    second = await shop.event(order, "order.status_changed")
    receiver.misbehave(Misbehaviour.ERROR, when=lambda r: r.event_id == first)
    started = clock()

    await drain(dispatcher, sessions, clock)

    dead, waiting = await deliveries(sessions)
    assert (dead.state, waiting.state, waiting.attempts) == ("dead", "pending", 0)
    log = await attempts_of(sessions, dead.id)
    assert dead.attempts == len(log) > 20
    assert log[-2].at < started + timedelta(hours=24) <= log[-1].at
    assert max(b.at - a.at for a, b in itertools.pairwise(log)) <= timedelta(hours=1.1)
    assert {r.event_id for r in receiver.requests} == {first}
    async with sessions() as session:
        listed = await list_deliveries(session, state="dead", limit=10)
    assert [(row.id, row.event, row.order_id, row.attempts) for row in listed] == [
        (dead.id, "order.created", order, len(log))
    ]
    assert listed[0].url.endswith(receiver.requests[0].path)

    clock.advance(minutes=30)
    async with transaction(sessions) as session:
        assert await replay(session, None, dead_only=True, now=clock(), actor="cli:test") == 1
    await dispatcher.run_once()
    [replayed, _] = await deliveries(sessions)
    assert replayed.state == "pending"
    assert timedelta(seconds=10) <= replayed.next_attempt_at - clock() <= timedelta(seconds=11)

    receiver.heal()
    await drain(dispatcher, sessions, clock)

    delivered = await deliveries(sessions)
    assert [d.state for d in delivered] == ["delivered", "delivered"]
    assert delivered[0].attempts == len(log) + 2
    assert len(await attempts_of(sessions, dead.id)) == len(log) + 2
    assert [r.event_id for r in receiver.delivered()] == [first, second]


async def test_replay_scope(sessions: Sessions, make_shop: ShopFactory, clock: FakeClock) -> None:
    shop = await make_shop("partner")
    await shop.subscribe("http://127.0.0.1:9/unused")
    order = await shop.order()
    for _ in range(3):
        await shop.event(order)
    async with transaction(sessions) as session:
        await fan_out(session, now=clock())
    dead, delivered, pending = await deliveries(sessions)
    async with transaction(sessions) as session:
        for row, state in ((dead, "dead"), (delivered, "delivered")):
            stored = await session.get(WebhookDelivery, row.id)
            assert stored is not None
            stored.state = state

    async with transaction(sessions) as session:
        with pytest.raises(ValueError, match="dead_only"):
            await replay(session, None, dead_only=False, now=clock(), actor="cli:test")
        assert (
            await replay(
                session, [dead.id, delivered.id], dead_only=True, now=clock(), actor="cli:test"
            )
            == 1
        )
        assert (
            await replay(session, [delivered.id], dead_only=False, now=clock(), actor="cli:test")
            == 1
        )
        assert await replay(session, [], dead_only=False, now=clock(), actor="cli:test") == 0
        assert [r.id for r in await list_deliveries(session, state="pending", limit=2)] == [
            pending.id,
            delivered.id,
        ]
        with pytest.raises(ValueError, match="unknown delivery state"):
            await list_deliveries(session, state="lost", limit=1)

    assert [d.state for d in await deliveries(sessions)] == ["pending"] * 3


async def test_run_keeps_going_after_a_failing_round(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shop = await subscribed(make_shop, receiver)
    await shop.event(await shop.order())
    calls = 0

    def flaky_client() -> httpx.AsyncClient:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("client construction failed")
        return default_client()

    stop = asyncio.Event()
    dispatcher = Dispatcher(sessions, clock=clock, poll_interval=0.01, client_factory=flaky_client)
    with caplog.at_level(logging.ERROR, logger="orderdesk.core.events.dispatcher"):
        task = asyncio.create_task(dispatcher.run(stop))
        await wait_until(lambda: bool(receiver.delivered()))
        stop.set()
        await asyncio.wait_for(task, 5)

    assert "webhook dispatch round failed" in caplog.text
    assert len(receiver.delivered()) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_run_worker_delivers_until_stopped(
    db_url: str,
    make_shop: ShopFactory,
    receiver: Receiver,
) -> None:
    shop = await subscribed(make_shop, receiver, "restaurant")
    await shop.event(await shop.order())
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(db_url, stop))
    await wait_until(lambda: bool(receiver.delivered()))
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(receiver.requests) == 1


async def wait_until(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        assert loop.time() < end, "condition not reached before the deadline"
        await asyncio.sleep(0.01)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_dispatchers_never_send_one_delivery_twice(
    db_url: str,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    for _ in range(2):
        shop = await subscribed(make_shop, receiver)
        secret = secrets.token_urlsafe(8)
        await shop.subscribe(receiver.endpoint("partner", secret), secret=secret)
        for _ in range(30):
            order = await shop.order()
            for event in ("order.created", "order.status_changed", "order.closed"):
                await shop.event(order, event)
    receiver.misbehave(Misbehaviour.ERROR, times=25)
    engines = [create_engine(db_url), create_engine(db_url)]
    makers = [create_sessionmaker(e) for e in engines]
    dispatchers = [Dispatcher(m, clock=clock, batch=20, timeout=5) for m in makers]
    attempted = [0, 0]
    try:
        for _ in range(200):
            seen = len(receiver.requests)
            counts = await asyncio.gather(*(d.run_once() for d in dispatchers))
            attempted = [a + c for a, c in zip(attempted, counts, strict=True)]
            in_round = Counter(r.delivery_id for r in receiver.requests[seen:])
            assert not [d for d, n in in_round.items() if n > 1]
            if not any(counts):
                async with makers[0]() as session:
                    next_due = await session.scalar(
                        select(func.min(WebhookDelivery.next_attempt_at)).where(
                            WebhookDelivery.state == "pending",
                            WebhookDelivery.next_attempt_at > clock(),
                        )
                    )
                if next_due is None:
                    break
                clock.set(next_due)
    finally:
        for d in dispatchers:
            await d.aclose()
        for e in engines:
            await e.dispose()

    assert all(attempted), attempted
    assert len(receiver.delivered()) == 2 * 2 * 30 * 3
    assert set(successes_per_delivery(receiver).values()) == {1}
    assert all(r.signature_valid for r in receiver.requests)
    assert_in_order_per_order(receiver)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_concurrent_fan_out_never_duplicates_deliveries(
    db_url: str,
    sessions: Sessions,
    make_shop: ShopFactory,
    clock: FakeClock,
) -> None:
    shop = await make_shop("partner")
    for i in range(2):
        await shop.subscribe(f"http://127.0.0.1:9/hook-{i}")
    orders = [await shop.order() for _ in range(10)]
    for _ in range(10):
        for order in orders:
            await shop.event(order)
    engines = [create_engine(db_url), create_engine(db_url)]
    makers = [create_sessionmaker(e) for e in engines]

    async def fan_out_once(maker: Sessions) -> int:
        async with transaction(maker) as session:
            return await fan_out(session, now=clock(), batch=7)

    published = 0
    try:
        while True:
            counts = await asyncio.gather(*(fan_out_once(m) for m in makers))
            published += sum(counts)
            async with sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                )
            if not left:
                break
    finally:
        for e in engines:
            await e.dispose()

    rows = await deliveries(sessions)
    assert published == 100
    assert len(rows) == 200
    assert len({(d.event_id, d.subscription_id) for d in rows}) == 200
    by_key: dict[str, list[WebhookDelivery]] = defaultdict(list)
    for d in rows:
        by_key[d.ordering_key].append(d)
    for same_key in by_key.values():
        assert [d.event_id for d in same_key] == sorted(d.event_id for d in same_key)


async def test_every_retry_of_an_event_carries_the_same_event_id(
    sessions: Sessions,
    make_shop: ShopFactory,
    receiver: Receiver,
    clock: FakeClock,
    dispatcher: Dispatcher,
) -> None:
    partner = await subscribed(make_shop, receiver, "partner")
    restaurant = await subscribed(make_shop, receiver, "restaurant")
    events = [await shop.event(await shop.order()) for shop in (partner, restaurant)]
    receiver.misbehave(Misbehaviour.ERROR, times=4)

    await drain(dispatcher, sessions, clock)

    seen: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for request in receiver.requests:
        field = "id" if "x-orderdesk-signature" in request.headers else "event_id"
        seen[request.delivery_id].add(
            (request.headers["x-orderdesk-event"], request.payload[field])
        )
    assert len(receiver.requests) == 6
    assert sorted(seen.values()) == [{(str(e), str(e))} for e in events]
