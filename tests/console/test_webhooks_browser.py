"""Replaying a dead webhook delivery from the console, in Chromium against a real server
(SQLite and PostgreSQL).

A partner subscribes a URL whose port is closed, so every delivery of its order fails. Dying
takes 24 hours of failures: a dispatcher run here against the server's database on a hand-moved
clock makes those attempts (the server's own dispatcher, on the real clock, finds nothing due
in that future). The operator then finds the dead delivery, the receiver starts listening on
that port, and "Send again" has the server deliver it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import FakeClock
from tests.console.support import TIMEOUT_MS, ConsoleServer, sign_in
from tests.reliability.support import apply_document
from tests.webhook_stack import SwitchableReceiver

from orderdesk.core.events.dispatcher import Dispatcher
from orderdesk.core.events.models import WebhookDelivery
from orderdesk.db.engine import create_engine, create_sessionmaker

pytestmark = pytest.mark.processes


@pytest.fixture
async def receiver() -> AsyncIterator[SwitchableReceiver]:
    listening = SwitchableReceiver(lambda: datetime.now(UTC))
    await listening.start()
    try:
        yield listening
    finally:
        await listening.close()


async def _subscribed_partner(
    console_server: ConsoleServer, receiver: SwitchableReceiver, directory: Path
) -> dict[str, str]:
    """A partner of its own whose webhook URL is the receiver's; login headers."""
    name = f"hooks-{secrets.token_hex(3)}"
    secret = f"whsec-{secrets.token_hex(8)}"
    document = {
        "version": 1,
        "partners": [
            {
                "name": name,
                "title": f"Hooks {name}",
                "users": [{"login": f"api@{name}.example", "password": "hooks api password"}],
                "stores": [
                    {
                        "id": f"{name}-store",
                        "title": "Hooks store",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 3, "1217": 3, "1721": 3},
                    }
                ],
                "webhooks": [{"url": receiver.endpoint("partner", secret), "secret": secret}],
            }
        ],
    }
    await apply_document(console_server.database_url, document, directory)
    async with httpx.AsyncClient(base_url=console_server.base_url, timeout=30) as client:
        answer = await client.post(
            "/partner/auth/authorize",
            json={"login": f"api@{name}.example", "password": "hooks api password"},
        )
        assert answer.status_code == 200, answer.text
        headers = {"token": answer.json()["data"]["token"]}
        body = console_server.partner_order_body(days_ahead=3)
        body["partner_details"]["store_id"] = f"{name}-store"
        created = await client.post("/partner/order/create", json=body, headers=headers)
        assert created.status_code == 200, created.text
    return headers


async def _fail_for_a_day(database_url: str) -> int:
    """Attempts on a clock jumped from retry to retry until no delivery is left pending; the
    id of the newest dead delivery."""
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    clock = FakeClock()
    try:
        async with Dispatcher(sessions, clock=clock, timeout=2.0) as dispatcher:
            for _ in range(500):
                if await dispatcher.run_once():
                    continue
                async with sessions() as session:
                    due = await session.scalar(
                        select(func.min(WebhookDelivery.next_attempt_at)).where(
                            WebhookDelivery.state == "pending"
                        )
                    )
                if due is None:
                    break
                if due > clock():
                    clock.set(due)
                else:
                    await asyncio.sleep(0.2)  # held by the server's dispatcher a moment
        async with sessions() as session:
            dead = await session.scalar(
                select(func.max(WebhookDelivery.id)).where(WebhookDelivery.state == "dead")
            )
    finally:
        await engine.dispose()
    assert dead is not None, "no delivery died"
    return int(dead)


async def test_a_dead_delivery_is_sent_again_and_delivered(
    console_server: ConsoleServer,
    page: Any,
    receiver: SwitchableReceiver,
    tmp_path: Path,
) -> None:
    await receiver.go_down()
    await _subscribed_partner(console_server, receiver, tmp_path)
    delivery_id = await _fail_for_a_day(console_server.database_url)

    await sign_in(page, console_server.admin.email, console_server.admin.password)
    await page.goto("/console/webhooks?state=dead")
    await (
        page.locator(f'tr[data-delivery="{delivery_id}"]')
        .get_by_role("link", name=str(delivery_id))
        .click()
    )
    state = page.locator("#delivery-state")
    await state.filter(has_text="dead").wait_for()
    assert await page.get_by_text("given up (dead)").count() == 1

    await receiver.come_up()
    await page.get_by_role("button", name="Send again").click()
    await page.wait_for_url(f"**/console/webhooks/{delivery_id}")
    shown = await state.text_content()
    assert shown in ("pending", "delivered"), shown

    loop = asyncio.get_running_loop()
    end = loop.time() + TIMEOUT_MS / 1000
    while (await state.text_content()) != "delivered":
        assert loop.time() < end, "the replayed delivery was not delivered"
        await asyncio.sleep(0.5)
        await page.reload()
    assert receiver.delivered(), receiver.requests
