"""GET /console/webhooks (newest first, by state, by organization, a page at a time),
GET /console/webhooks/{id} (the request without the secret, every answer, the next attempt) and
POST .../replay (a dead delivery queued again, then delivered); CSRF and staff isolation.

Each test has an app on a database of its own (``tests.webhook_stack``): the dispatcher sends
every due delivery of its database. A delivery dies when its receiver is down for 24 hours of the
hand-moved clock.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import FakeClock, fresh_database
from tests.console.console_http import new_operator, sign_in
from tests.dialects.partner.orders_support import local_day
from tests.factories import order_body
from tests.webhook_stack import Stack, stack_on

from orderdesk.console import webhooks as page
from orderdesk.core.organizations.models import Organization


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def stack(database_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stack]:
    async with stack_on(database_url, tmp_path / "media", clock) as s:
        yield s


async def _dead_delivery(stack: Stack) -> tuple[str, int, str]:
    """A partner whose receiver is down until its order's first delivery died; returns the
    partner's name, the delivery id and the webhook secret."""
    partner, secret, headers = await stack.partner()
    await stack.receiver.go_down()
    body = order_body(partner, [(local_day(stack.clock(), 3), "1217")])
    created = await stack.client.post("/partner/order/create", json=body, headers=headers)
    assert created.status_code == 200, created.text
    await stack.drain()
    dead = [d for d, _ in await stack.deliveries() if d.state == "dead"]
    assert dead, [d.state for d, _ in await stack.deliveries()]
    return partner.name, dead[0].id, secret


async def _state_of(stack: Stack, delivery_id: int) -> str:
    [found] = [d.state for d, _ in await stack.deliveries() if d.id == delivery_id]
    return found


async def test_a_dead_delivery_is_shown_and_replayed_until_delivered(stack: Stack) -> None:
    _, delivery_id, secret = await _dead_delivery(stack)
    client = stack.client
    csrf = await sign_in(client, await new_operator(stack.state, "dispatcher"))

    listing = await client.get("/console/webhooks", params={"state": "dead"})
    assert listing.status_code == 200
    assert f'data-delivery="{delivery_id}"' in listing.text
    assert (
        f'data-delivery="{delivery_id}"'
        not in (await client.get("/console/webhooks", params={"state": "delivered"})).text
    )

    detail = await client.get(f"/console/webhooks/{delivery_id}")
    assert detail.status_code == 200
    assert f"127.0.0.1:{stack.receiver.port}" in detail.text
    assert "order.created" in detail.text and "X-Orderdesk-Signature" in detail.text
    assert "X-Orderdesk-Delivery" in detail.text and "ConnectError" in detail.text
    assert secret not in detail.text
    assert "given up (dead)" in detail.text

    refused = await client.post(f"/console/webhooks/{delivery_id}/replay")
    assert refused.status_code == 403
    assert await _state_of(stack, delivery_id) == "dead"

    await stack.receiver.come_up()
    answer = await client.post(f"/console/webhooks/{delivery_id}/replay", data={"csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/webhooks/{delivery_id}"
    assert await _state_of(stack, delivery_id) == "pending"
    queued = (await client.get(f"/console/webhooks/{delivery_id}")).text
    assert "UTC" in queued
    # Who sent it again is kept on the delivery.
    assert re.search(r'id="replayed">[^<]* UTC by operator:[^<]+@', queued), queued

    await stack.drain()
    assert await _state_of(stack, delivery_id) == "delivered"
    detail = await client.get(f"/console/webhooks/{delivery_id}")
    assert 'id="delivery-state">delivered' in detail.text


async def test_staff_see_only_their_organizations_deliveries(stack: Stack) -> None:
    owner, delivery_id, _ = await _dead_delivery(stack)
    stranger, _, _ = await stack.partner()
    client = stack.client
    csrf = await sign_in(client, await new_operator(stack.state, "staff", stranger.name))

    assert f'data-delivery="{delivery_id}"' not in (await client.get("/console/webhooks")).text
    assert (await client.get(f"/console/webhooks/{delivery_id}")).status_code == 404
    answer = await client.post(f"/console/webhooks/{delivery_id}/replay", data={"csrf": csrf})
    assert answer.status_code == 404
    assert await _state_of(stack, delivery_id) == "dead"
    assert (await client.get("/console/webhooks/999999")).status_code == 404

    await client.post("/console/logout", data={"csrf": csrf})
    await sign_in(client, await new_operator(stack.state, "staff", owner))
    assert f'data-delivery="{delivery_id}"' in (await client.get("/console/webhooks")).text
    assert (await client.get(f"/console/webhooks/{delivery_id}")).status_code == 200


async def test_pages_and_the_organization_filter(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner, _, headers = await stack.partner()
    await stack.receiver.go_down()
    for offset in (2, 3, 4):
        body = order_body(partner, [(local_day(stack.clock(), offset), "1217")])
        created = await stack.client.post("/partner/order/create", json=body, headers=headers)
        assert created.status_code == 200, created.text
    await stack.rounds()
    ids = sorted((d.id for d, _ in await stack.deliveries()), reverse=True)
    assert len(ids) >= 3
    client = stack.client
    await sign_in(client, await new_operator(stack.state, "admin"))
    monkeypatch.setattr(page, "PAGE_SIZE", 2)

    seen: list[int] = []
    url = "/console/webhooks"
    for _ in range(len(ids)):
        listing = await client.get(url)
        assert listing.status_code == 200
        seen += [int(x) for x in re.findall(r'data-delivery="(\d+)"', listing.text)]
        found = re.search(r'href="([^"]+)" rel="next"', listing.text)
        if found is None:
            break
        url = found.group(1).replace("&amp;", "&")
    assert seen == ids

    async with stack.state.reads() as session:
        org_id = await session.scalar(
            select(Organization.id).where(Organization.key == partner.name)
        )
    other = await client.get("/console/webhooks", params={"org": str((org_id or 0) + 1000)})
    assert "data-delivery" not in other.text
    mine = await client.get("/console/webhooks", params={"org": str(org_id)})
    assert f'data-delivery="{ids[0]}"' in mine.text
    assert (await client.get("/console/webhooks", params={"state": "lost"})).status_code == 400
