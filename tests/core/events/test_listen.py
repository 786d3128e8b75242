"""``orderdesk webhooks listen``: signatures of both dialects checked, one line per event."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.core.events.conftest import ShopFactory, deliveries
from tests.servers import free_port

from orderdesk.core.events.dispatcher import Dispatcher
from orderdesk.core.events.listen import receive
from orderdesk.core.events.models import OutboxEvent
from orderdesk.core.events.signing import sign_plain, sign_timestamped
from orderdesk.db.base import utcnow
from orderdesk.db.engine import transaction

SECRET = "whsec-listen"
PARTNER = {"id": "41", "event": "order.created", "created_at": "x", "data": {"_id": 7}}
RESTAURANT = {"event_id": "42", "event": "order.new", "order": {"uid": "r-uid"}}


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@pytest.mark.parametrize(
    ("payload", "sign", "secret", "signed_at", "expected"),
    [
        (PARTNER, sign_timestamped, SECRET, timedelta(0), ("valid", 200)),
        (PARTNER, sign_timestamped, "other", timedelta(0), ("invalid", 401)),
        (PARTNER, sign_timestamped, SECRET, timedelta(minutes=-6), ("invalid", 401)),
        (RESTAURANT, sign_plain, SECRET, timedelta(0), ("valid", 200)),
        (RESTAURANT, sign_plain, "other", timedelta(0), ("invalid", 401)),
    ],
)
def test_signatures_of_both_dialects(
    payload: dict[str, Any],
    sign: Any,
    secret: str,
    signed_at: timedelta,
    expected: tuple[str, int],
) -> None:
    now = utcnow()
    raw = body(payload)
    received = receive(lower(sign(raw, secret, now + signed_at)), raw, secret=SECRET, now=now)
    assert (received.signature, received.status) == expected
    assert (received.event_id, received.event, received.order) == (
        ("41", "order.created", "7") if payload is PARTNER else ("42", "order.new", "r-uid")
    )


def test_unsigned_unreadable_and_unchecked_requests() -> None:
    now = utcnow()
    missing = receive({}, body(PARTNER), secret=SECRET, now=now)
    assert (missing.signature, missing.status) == ("missing", 401)
    raw = b"\xff not json"
    garbage = receive(lower(sign_plain(raw, SECRET, now)), raw, secret=SECRET, now=now)
    assert (garbage.signature, garbage.status, garbage.event) == ("valid", 400, "(not JSON)")
    headers = lower(sign_plain(b"[1]", "anything", now)) | {"x-orderdesk-event": "9"}
    unchecked = receive(headers, b"[1]", secret=None, now=now)
    assert (unchecked.signature, unchecked.status, unchecked.event_id) == ("unchecked", 200, "9")
    assert "event=9" in unchecked.line() and "signature unchecked" in unchecked.line()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real ``orderdesk webhooks listen`` process; yields its URL and its output file."""
    port = free_port()
    output = tmp_path / "listen.out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orderdesk", "webhooks", "listen", "--port", str(port)],
            env={**env, "ORDERDESK_WEBHOOK_SECRET": SECRET},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, output.read_text()
                try:
                    if httpx.get(base, timeout=1).status_code == 405:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "listener did not start"
                time.sleep(0.1)
            yield base, output
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)


async def test_dispatcher_delivers_to_the_listener_which_prints_and_rejects_bad_signatures(
    sessions: async_sessionmaker[AsyncSession],
    make_shop: ShopFactory,
    listener: tuple[str, Path],
) -> None:
    base, output = listener
    partner, restaurant = await make_shop("partner"), await make_shop("restaurant")
    await partner.subscribe(f"{base}/partner", secret=SECRET)
    await restaurant.subscribe(f"{base}/restaurant", secret=SECRET)
    await restaurant.subscribe(f"{base}/wrong", secret="not-the-secret")
    now = utcnow()
    async with transaction(sessions) as session:
        for shop, payload in ((partner, PARTNER), (restaurant, RESTAURANT)):
            shop_payload = {k: v for k, v in payload.items() if k not in ("id", "event_id")}
            session.add(
                OutboxEvent(
                    organization_id=shop.organization_id,
                    order_id=None,
                    event=payload["event"],
                    payload=shop_payload,
                    created_at=now,
                    published_at=None,
                )
            )

    async with Dispatcher(sessions, clock=utcnow, timeout=5) as dispatcher:
        await dispatcher.run_once()

    rows = {(d.subscription_id, d.event_id): d for d in await deliveries(sessions)}
    assert sorted((d.state, d.last_status_code) for d in rows.values()) == [
        ("delivered", 200),
        ("delivered", 200),
        ("pending", 401),
    ]
    lines = [line for line in output.read_text().splitlines() if "event=" in line]
    assert len(lines) == 3
    partner_event, restaurant_event = sorted({d.event_id for d in rows.values()})
    expected = [
        f"event={partner_event}  order.created  order=7  signature valid  -> 200",
        f"event={restaurant_event}  order.new  order=r-uid  signature invalid  -> 401",
        f"event={restaurant_event}  order.new  order=r-uid  signature valid  -> 200",
    ]
    assert sorted(line.split("  ", 1)[1] for line in lines) == expected
    for line in lines:
        datetime.fromisoformat(line.split()[0])
