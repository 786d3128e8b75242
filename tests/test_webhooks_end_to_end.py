"""Webhooks end to end: orders made through both HTTP dialects reach a real local receiver.

In-process tests drive the dispatcher and the countdown loop by hand with the clock every part
reads (app, dispatcher, receiver), jumping it to each scheduled retry instead of sleeping; they
run on SQLite and PostgreSQL, each on a database of its own (see ``tests/webhook_stack.py``).
The process test runs ``orderdesk serve --workers 2`` and ``orderdesk worker`` for real and polls
the receiver with a deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from orderdesk.app import create_app
from orderdesk.cli import cli
from orderdesk.core.events.signing import verify_timestamped
from orderdesk.settings import Settings
from tests.conftest import FakeClock, create_pg_database, drop_pg_database, fresh_database
from tests.core.events.conftest import Misbehaviour, Receiver
from tests.dialects.partner.orders_support import local_day
from tests.factories import order_body, restaurant_doc
from tests.servers import running_server
from tests.webhook_stack import (
    Stack,
    assert_sent_in_order_per_order,
    delivered_events_by_order,
    plain_signature,
    stack_on,
)

RESTAURANT_FLOW = ["order.new", "order.countdown_started", "order.confirmed", "order.closed"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh migrated database for each test: outages and replays must not see other tests'."""
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def stack(database_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stack]:
    async with stack_on(database_url, tmp_path / "media", clock) as s:
        yield s


async def cli_invoke(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str) -> str:
    """Run ``orderdesk ARGS --database-url URL`` in a thread (the CLI runs its own event loop).

    The CLI exports ``ORDERDESK_DATABASE_URL`` for its child processes; ``monkeypatch`` puts the
    variable back as it was when the test ends."""
    monkeypatch.setenv("ORDERDESK_DATABASE_URL", database_url)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, [*args, "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    return str(result.output)


# ---------------------------------------------------------------------------------------------
# 1. Restaurant: the whole confirmation flow, and a countdown that runs out by itself


async def test_restaurant_subscriber_gets_new_countdown_confirmed_closed_in_order(
    stack: Stack,
) -> None:
    r, secret = await stack.restaurant()
    order = await stack.restaurant_order(r)
    at_creation = await stack.restaurant_get(r, order["uid"])
    assert order["confirmed"] is False
    assert (await stack.restaurant_call(r, "confirm", order))["success"]
    assert (await stack.restaurant_call(r, "close", order))["success"]

    assert await stack.rounds() == 4

    received = stack.receiver.requests
    assert [q.payload["event"] for q in received] == RESTAURANT_FLOW
    assert all(q.answered == 200 for q in received)
    for request in received:
        assert request.headers["x-xmenu-signature"] == plain_signature(secret, request.body)
        assert "x-orderdesk-signature" not in request.headers
        assert request.headers["content-type"] == "application/json"
    payloads = [q.payload for q in received]
    # Each body leads with the event id a receiver de-duplicates on, the header's value.
    assert [next(iter(p)) for p in payloads] == ["event_id"] * 4
    assert [p.pop("event_id") for p in payloads] == [
        q.headers["x-orderdesk-event"] for q in received
    ]
    new, countdown, confirmed, closed = payloads
    # order.new carries the full order, exactly as GET /api/orders/get showed it at creation.
    assert new == {"event": "order.new", "order": at_creation}
    assert {k: new["order"][k] for k in ("uid", "token", "total", "order_number")} == {
        k: order[k] for k in ("uid", "token", "total", "order_number")
    }
    assert new["order"]["total"] == 2 * (7.5 + 3)
    assert new["order"]["details"][0]["product"]["uid"] == f"{r.uid}-margherita"
    assert countdown == {
        "event": "order.countdown_started",
        "order": {
            "uid": order["uid"],
            "token": order["token"],
            "confirmation": at_creation["confirmation"],
        },
    }
    assert countdown["order"]["confirmation"]["countdown_time"] == 300
    assert countdown["order"]["confirmation"]["confirmed"] is False
    assert confirmed["event"] == "order.confirmed"
    assert confirmed["order"]["uid"] == order["uid"]
    assert confirmed["order"]["confirmation"]["confirmed"] is True
    assert confirmed["order"]["closed"] is False
    assert closed == {"event": "order.closed", "order": await stack.restaurant_get(r, order["uid"])}
    assert closed["order"]["closed"] is True and closed["order"]["confirmation"]["closed"]
    event_ids = [q.event_id for q in received]
    assert event_ids == sorted(event_ids) == [e.id for e in await stack.outbox()]
    assert await stack.rounds() == 0
    assert [d.state for d, _ in await stack.deliveries()] == ["delivered"] * 4


async def test_unconfirmed_restaurant_order_times_out_by_itself_and_the_subscriber_is_told(
    stack: Stack,
) -> None:
    r, secret = await stack.restaurant()
    order = await stack.restaurant_order(r)
    at_creation = await stack.restaurant_get(r, order["uid"])
    assert await stack.rounds() == 2
    assert [q.payload["event"] for q in stack.receiver.delivered()] == [
        "order.new",
        "order.countdown_started",
    ]

    # No request arrives: the background step times the order out once the clock has passed
    # the countdown's end, and the next dispatcher round tells the subscriber.
    countdown_end = stack.clock() + timedelta(seconds=300)
    stack.clock.set(countdown_end - timedelta(seconds=1))
    assert await stack.background.expire_countdowns() == 0
    assert await stack.rounds() == 0
    stack.clock.set(countdown_end + timedelta(seconds=1))
    assert await stack.background.expire_countdowns() == 1
    assert await stack.rounds() == 1

    timeout = stack.receiver.requests[-1]
    assert timeout.answered == 200
    assert timeout.headers["x-xmenu-signature"] == plain_signature(secret, timeout.body)
    assert timeout.payload == {
        "event_id": timeout.headers["x-orderdesk-event"],
        "event": "order.timeout",
        "order": await stack.restaurant_get(r, order["uid"]),
    }
    assert timeout.payload["order"]["confirmation"]["timeout"] is True
    assert timeout.payload["order"]["confirmation"]["confirmed"] is False
    assert at_creation["confirmation"]["timeout"] is False
    late = await stack.restaurant_call(r, "confirm", order)
    assert (late["success"], late["error"]) == (False, "TIMEOUT")
    assert await stack.background.expire_countdowns() == 0
    assert await stack.rounds() == 0
    assert [q.payload["event"] for q in stack.receiver.requests] == [
        "order.new",
        "order.countdown_started",
        "order.timeout",
    ]
    assert [d.state for d, _ in await stack.deliveries()] == ["delivered"] * 3


# ---------------------------------------------------------------------------------------------
# 2. Partner: created, then cancelled


async def test_partner_subscriber_gets_created_then_status_changed_signed_with_timestamp(
    stack: Stack,
) -> None:
    partner, secret, headers = await stack.partner()
    body = order_body(partner, [(local_day(stack.clock(), 2), "1217")])
    created = await stack.client.post("/partner/order/create", json=body, headers=headers)
    assert created.status_code == 200, created.text
    order_id = created.json()["data"]["_id"]
    created_at = stack.clock()
    listed_open = await stack.partner_list_item(headers, order_id)
    stack.clock.advance(minutes=3)
    cancelled = await stack.client.post(f"/partner/order/{order_id}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    cancelled_at = stack.clock()
    listed_cancelled = await stack.partner_list_item(headers, order_id)
    stack.clock.advance(minutes=1)
    sent_at = stack.clock()

    await stack.rounds()

    first, second = stack.receiver.requests
    assert (first.answered, second.answered) == (200, 200)
    assert first.payload == {
        "id": first.headers["x-orderdesk-event"],
        "event": "order.created",
        "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{created_at.microsecond // 1000:03d}Z",
        "data": listed_open,
    }
    assert second.payload["event"] == "order.status_changed"
    assert second.payload["id"] == second.headers["x-orderdesk-event"] != first.payload["id"]
    assert second.payload["data"] == listed_cancelled
    assert (second.payload["data"]["_status"], second.payload["data"]["_substatus"]) == (
        "cancelled",
        "cancelled",
    )
    assert datetime.fromisoformat(second.payload["created_at"]) == cancelled_at.replace(
        microsecond=cancelled_at.microsecond // 1000 * 1000
    )
    assert int(first.headers["x-orderdesk-event"]) < int(second.headers["x-orderdesk-event"])
    for request in (first, second):
        header = request.headers["x-orderdesk-signature"]
        assert "x-xmenu-signature" not in request.headers
        assert header.startswith(f"t={int(sent_at.timestamp())},v1=")
        assert verify_timestamped(header, request.body, secret, stack.clock())
        assert not verify_timestamped(header, request.body, "whsec-someone-else", stack.clock())
        assert not verify_timestamped(header, request.body + b" ", secret, stack.clock())
        assert not verify_timestamped(
            header, request.body, secret, stack.clock() + timedelta(minutes=6)
        )
    assert [d.state for d, _ in await stack.deliveries()] == ["delivered", "delivered"]


# ---------------------------------------------------------------------------------------------
# 3. A receiver failing its first three attempts


async def test_receiver_failing_first_3_attempts_still_gets_every_event_in_order(
    stack: Stack,
) -> None:
    r, restaurant_secret = await stack.restaurant()
    partner, _partner_secret, headers = await stack.partner()
    orders = [await stack.restaurant_order(r, slot=i) for i in range(2)]
    for order in orders:
        assert (await stack.restaurant_call(r, "confirm", order))["success"]
        assert (await stack.restaurant_call(r, "close", order))["success"]
    created = await stack.client.post(
        "/partner/order/create",
        headers=headers,
        json=order_body(partner, [(local_day(stack.clock(), 2), "0712")]),
    )
    partner_order = created.json()["data"]["_id"]
    cancel = await stack.client.post(f"/partner/order/{partner_order}/cancel", headers=headers)
    assert cancel.status_code == 200, cancel.text
    stack.receiver.misbehave(Misbehaviour.ERROR, times=3)
    started = stack.clock()

    assert await stack.rounds() == 3
    assert [q.answered for q in stack.receiver.requests] == [500, 500, 500]
    assert await stack.rounds() == 0, "a failed delivery was retried before its backoff"

    jumps = await stack.drain()

    outbox = await stack.outbox()
    assert len(outbox) == 2 * 4 + 2
    assert jumps >= 1 and stack.clock() >= started + timedelta(seconds=10)
    assert delivered_events_by_order(stack.receiver) == {
        **{f"restaurant:{o['uid']}": RESTAURANT_FLOW for o in orders},
        f"partner:{partner_order}": ["order.created", "order.status_changed"],
    }
    delivered_ids = Counter(q.event_id for q in stack.receiver.delivered())
    assert set(delivered_ids) == {e.id for e in outbox}
    assert_sent_in_order_per_order(stack.receiver)
    for request in stack.receiver.requests:
        assert request.signature_valid  # checked at arrival, against the receiver's clock
        if "x-xmenu-signature" in request.headers:
            assert request.headers["x-xmenu-signature"] == plain_signature(
                restaurant_secret, request.body
            )
        else:
            assert request.payload["data"]["_id"] == partner_order
            assert request.headers["x-orderdesk-signature"]

    deliveries = await stack.deliveries()
    assert [d.state for d, _ in deliveries] == ["delivered"] * len(outbox)
    assert sum(d.attempts for d, _ in deliveries) == len(outbox) + 3
    log = await stack.attempts()
    failed = [a for a in log if a.status_code == 500]
    assert len(failed) == 3 and len(log) == len(outbox) + 3
    assert all(a.error == "HTTP 500: boom" for a in failed)
    assert all(a.at == started for a in failed)
    assert len({a.delivery_id for a in failed}) == 3, "one first attempt per order failed"
    for attempt in failed:
        retries = [a for a in log if a.delivery_id == attempt.delivery_id and a.id > attempt.id]
        assert retries, "a failed delivery was never retried"
        assert retries[0].at - attempt.at >= timedelta(seconds=10)
    assert {a.delivery_id for a in log if a.status_code == 200} == {d.id for d, _ in deliveries}


# ---------------------------------------------------------------------------------------------
# 4. A receiver down for longer than the 24 h retry window: dead deliveries, listed and
#    replayed with the CLI

# Retries are 10 s, 20 s, ... then hourly, each up to 10 % longer (jitter); a delivery dies on
# its first failure 24 h or more after its first attempt, so anywhere up to 25.1 h after it.
# The receiver stays down 26 h so that every first delivery is dead before it comes back.
OUTAGE = timedelta(hours=26)


async def test_26_hour_outage_ends_dead_then_cli_lists_and_replays_them(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The outage ends an hour before the real now, so that the CLI (which runs on the real
    # clock) replays after every attempt the dispatcher made on the simulated one.
    stack.clock.set(datetime.now(UTC) - OUTAGE - timedelta(hours=1))
    r, restaurant_secret = await stack.restaurant()
    partner, _partner_secret, headers = await stack.partner()
    await stack.receiver.go_down()
    outage_began = stack.clock()

    order = await stack.restaurant_order(r, creator="restaurant")
    assert order["confirmed"] is True
    created = await stack.client.post(
        "/partner/order/create",
        headers=headers,
        json=order_body(partner, [(local_day(stack.clock(), 2), "1217")]),
    )
    partner_order = created.json()["data"]["_id"]
    assert await stack.rounds() == 2  # the first event of each order; both refused
    stack.clock.advance(minutes=5)
    assert (await stack.restaurant_call(r, "close", order))["success"]
    cancel = await stack.client.post(f"/partner/order/{partner_order}/cancel", headers=headers)
    assert cancel.status_code == 200, cancel.text

    await stack.drain(until=outage_began + OUTAGE)
    stack.clock.set(outage_began + OUTAGE)
    assert await stack.rounds() == 0

    deliveries = await stack.deliveries()
    by_state = {
        state: [(e.event, d) for d, e in deliveries if d.state == state]
        for state in ("dead", "pending", "delivered")
    }
    assert sorted(name for name, _ in by_state["dead"]) == ["order.created", "order.new"]
    assert sorted(name for name, _ in by_state["pending"]) == [
        "order.closed",
        "order.confirmed",
        "order.status_changed",
    ]
    assert by_state["delivered"] == []
    assert all(d.attempts == 0 for _, d in by_state["pending"]), "sent before an earlier event"
    log = await stack.attempts()
    for _, dead in by_state["dead"]:
        tries = [a for a in log if a.delivery_id == dead.id]
        assert len(tries) == dead.attempts > 20
        assert all(a.status_code is None and a.error and "ConnectError" in a.error for a in tries)
        assert tries[-2].at < tries[0].at + timedelta(hours=24) <= tries[-1].at
        assert max(b.at - a.at for a, b in itertools.pairwise(tries)) <= timedelta(hours=1.1)
    assert stack.receiver.requests == []

    url = stack.state.settings.database_url
    listed = await cli_invoke(monkeypatch, url, "webhooks", "list", "--state", "dead")
    lines = listed.strip().splitlines()
    assert lines[-1] == "2 deliveries"
    dead_ids = {d.id for _, d in by_state["dead"]}
    assert {int(line.split("\t")[0]) for line in lines[:-1]} == dead_ids
    for line in lines[:-1]:
        columns = line.split("\t")
        assert columns[1] == "dead" and columns[2] in ("order.new", "order.created")
        assert columns[-1].startswith(f"http://127.0.0.1:{stack.receiver.port}/hooks/")
        assert "ConnectError" in columns[5]
    assert "0 deliveries" in await cli_invoke(
        monkeypatch, url, "webhooks", "list", "--state", "delivered"
    )

    await stack.receiver.come_up()
    stack.receiver.misbehave(Misbehaviour.ERROR, times=1)  # one more failure after the replay
    replayed = await cli_invoke(monkeypatch, url, "webhooks", "replay", "--all-dead")
    assert replayed.strip() == "2 deliveries queued again"
    stack.clock.set(datetime.now(UTC))
    assert all(d.state == "pending" for d, _ in await stack.deliveries())

    await stack.rounds()
    # The replay re-opened the retry window: a failure now means a 10 s backoff, not death.
    retrying = [d for d, _ in await stack.deliveries() if d.last_status_code == 500]
    assert len(retrying) == 1 and retrying[0].state == "pending"
    assert (
        timedelta(seconds=10)
        <= retrying[0].next_attempt_at - stack.clock()
        <= timedelta(seconds=11)
    )
    await stack.drain()

    assert [d.state for d, _ in await stack.deliveries()] == ["delivered"] * 5
    assert delivered_events_by_order(stack.receiver) == {
        f"restaurant:{order['uid']}": ["order.new", "order.confirmed", "order.closed"],
        f"partner:{partner_order}": ["order.created", "order.status_changed"],
    }
    assert_sent_in_order_per_order(stack.receiver)
    assert all(q.signature_valid for q in stack.receiver.requests)
    for request in stack.receiver.requests:
        if "x-xmenu-signature" in request.headers:
            assert request.headers["x-xmenu-signature"] == plain_signature(
                restaurant_secret, request.body
            )
    assert "0 deliveries" in await cli_invoke(
        monkeypatch, url, "webhooks", "list", "--state", "dead"
    )


# ---------------------------------------------------------------------------------------------
# 5. Real processes: two server workers deliver, and so does a separate worker


ORDERS_THROUGH_SERVE = 20
ORDERS_FOR_WORKER = 5


def _order(r_uid: str, location: str) -> dict[str, Any]:
    return {
        "client": {
            "first_name": "Anna",
            "last_name": "Rossi",
            "email": "anna@example.com",
            "phone": "02 1234567",
        },
        "dmethod": "0t",
        "payment_method": "cash",
        "payment_method_sub": "cash",
        "subrestaurant_uid": location,
        "details": [{"product": {"uid": f"{r_uid}-acqua"}, "quantity": 1}],
    }


async def _wait_for(
    receiver: Receiver,
    event_ids: set[int],
    what: str,
    proc: asyncio.subprocess.Process | None = None,
    within: float = 120,
) -> None:
    """Poll until every one of ``event_ids`` was accepted by the receiver, or fail."""
    deadline = time.monotonic() + within
    while True:
        missing = event_ids - {q.event_id for q in receiver.delivered()}
        if not missing:
            return
        if proc is not None and proc.returncode is not None:
            raise AssertionError(f"{what} exited with {proc.returncode} before delivering")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {len(missing)} events never arrived: {sorted(missing)}")
        await asyncio.sleep(0.05)


async def _outbox(url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(
            await conn.fetch(
                "SELECT e.id, e.event, e.published_at, o.uid FROM outbox_events e "
                "JOIN orders o ON o.id = e.order_id ORDER BY e.id"
            )
        )
    finally:
        await conn.close()


@pytest.mark.postgres
@pytest.mark.processes
async def test_serve_with_2_workers_and_a_separate_worker_deliver_each_event_once(
    tmp_path: Path,
) -> None:
    url = await create_pg_database()
    receiver = Receiver(lambda: datetime.now(UTC))
    await receiver.start()
    worker: asyncio.subprocess.Process | None = None
    worker_log = tmp_path / "worker.log"
    try:
        secret = "whsec-processes-0123"
        doc = restaurant_doc(
            webhooks=[{"url": receiver.endpoint("restaurant", secret), "secret": secret}]
        )
        setup = tmp_path / "setup.json"
        setup.write_text(json.dumps({"version": 1, "restaurants": [doc]}))
        applied = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "orderdesk",
            "apply",
            str(setup),
            "--database-url",
            url,
            stdout=asyncio.subprocess.DEVNULL,
        )
        assert await applied.wait() == 0
        credentials = {
            "client_id": doc["clients"][0]["client_id"],
            "client_secret": doc["clients"][0]["client_secret"],
        }
        client_headers = {
            "X-Client-Id": credentials["client_id"],
            "X-Client-Secret": credentials["client_secret"],
        }
        location = doc["subrestaurants"][0]["uid"]

        with running_server(url, workers=2, media_dir=tmp_path / "media") as base:
            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                # One bearer token (one argon2 check of the client secret) for all 20 orders:
                # twenty concurrent first-time secret checks only load the machine.
                token = await client.post(
                    "/api/oauth/token", data={"grant_type": "client_credentials", **credentials}
                )
                assert token.status_code == 200, token.text
                bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
                responses = await asyncio.gather(
                    *(
                        client.post(
                            "/api/order/create", headers=bearer, json=_order(doc["uid"], location)
                        )
                        for _ in range(ORDERS_THROUGH_SERVE)
                    )
                )
            assert all(r.json()["success"] for r in responses), responses[0].text
            served_uids = {r.json()["order"]["uid"] for r in responses}
            outbox = await _outbox(url)
            assert len(outbox) == 2 * ORDERS_THROUGH_SERVE  # order.new + countdown_started
            await _wait_for(receiver, {row["id"] for row in outbox}, "orderdesk serve")

        served = list(receiver.requests)
        accepted = Counter(q.event_id for q in served if q.answered == 200)
        failed = {q.event_id for q in served if q.answered != 200}
        duplicates = {e for e, n in accepted.items() if n > 1}
        assert duplicates <= failed, f"sent twice without a failure: {sorted(duplicates)}"
        first_copies = {q.event_id: q for q in served if q.answered == 200}
        new_orders = Counter(
            q.payload["order"]["uid"]
            for q in first_copies.values()
            if q.payload["event"] == "order.new"
        )
        assert new_orders == dict.fromkeys(served_uids, 1)
        assert all(q.signature_valid for q in served)
        assert all(
            q.headers["x-xmenu-signature"] == plain_signature(secret, q.body) for q in served
        )

        # With no server running, orders still go into the outbox (the API in process, with no
        # background loops); a separate `orderdesk worker` process then delivers them.
        app = create_app(Settings(database_url=url, media_dir=tmp_path / "media"), background=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as client,
        ):
            later = [
                await client.post(
                    "/api/order/create", headers=client_headers, json=_order(doc["uid"], location)
                )
                for _ in range(ORDERS_FOR_WORKER)
            ]
        assert all(r.json()["success"] for r in later), later[0].text
        later_uids = {r.json()["order"]["uid"] for r in later}
        pending = [row for row in await _outbox(url) if row["uid"] in later_uids]
        assert len(pending) == 2 * ORDERS_FOR_WORKER
        assert all(row["published_at"] is None for row in pending)
        assert len(receiver.requests) == len(served)

        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
        with worker_log.open("wb") as log:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "orderdesk",
                "worker",
                "--database-url",
                url,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        await _wait_for(receiver, {row["id"] for row in pending}, "orderdesk worker", worker)
        os.killpg(worker.pid, signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0, worker_log.read_text()

        by_worker = receiver.requests[len(served) :]
        assert Counter(
            q.payload["order"]["uid"]
            for q in by_worker
            if q.payload["event"] == "order.new" and q.answered == 200
        ) == dict.fromkeys(later_uids, 1)
        assert all(q.signature_valid for q in by_worker)
        conn = await asyncpg.connect(url)
        try:
            states = await conn.fetch(
                "SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state"
            )
        finally:
            await conn.close()
        assert {row["state"]: row["n"] for row in states} == {
            "delivered": 2 * (ORDERS_THROUGH_SERVE + ORDERS_FOR_WORKER)
        }
    finally:
        if worker is not None and worker.returncode is None:
            os.killpg(worker.pid, signal.SIGKILL)
            await worker.wait()
        await receiver.close()
        await drop_pg_database(url)
