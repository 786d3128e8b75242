"""The operator's view of deliveries beyond ``orderdesk webhooks list``: one organization's
deliveries, pages continued after a delivery id, and one delivery's request (the body as sent,
the headers without the secret) with its attempt log and next attempt."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import FakeClock, fresh_database
from tests.dialects.partner.orders_support import local_day
from tests.factories import order_body
from tests.webhook_stack import Stack, stack_on

from orderdesk.core.events.admin import delivery_detail, list_deliveries
from orderdesk.core.events.signing import TIMESTAMPED_HEADER
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


async def _orders(stack: Stack, count: int) -> tuple[str, str]:
    partner, secret, headers = await stack.partner()
    for offset in range(count):
        body = order_body(partner, [(local_day(stack.clock(), 2 + offset), "1217")])
        created = await stack.client.post("/partner/order/create", json=body, headers=headers)
        assert created.status_code == 200, created.text
    return partner.name, secret


async def test_deliveries_of_one_organization_a_page_at_a_time(stack: Stack) -> None:
    first, _ = await _orders(stack, 3)
    await _orders(stack, 1)  # another organization's
    await stack.receiver.go_down()
    await stack.rounds()
    async with stack.state.reads() as session:
        org = await session.scalar(select(Organization.id).where(Organization.key == first))
        everything = await list_deliveries(session, state=None, limit=100)
        mine = await list_deliveries(session, state=None, limit=100, organization_id=org)
        assert {r.url for r in mine} < {r.url for r in everything}
        assert len(mine) >= 3 and len(everything) > len(mine)
        pages: list[int] = []
        before: int | None = None
        while True:
            page = await list_deliveries(
                session, state=None, limit=2, organization_id=org, before_id=before
            )
            if not page:
                break
            pages += [r.id for r in page]
            before = page[-1].id
    assert pages == [r.id for r in mine] == sorted(pages, reverse=True)


async def test_a_delivery_shows_its_request_without_the_secret_and_every_answer(
    stack: Stack,
) -> None:
    _, secret = await _orders(stack, 1)
    await stack.receiver.go_down()
    await stack.rounds()
    [(delivery, event), *_] = await stack.deliveries()
    async with stack.state.reads() as session:
        detail = await delivery_detail(session, delivery.id)
        assert await delivery_detail(session, delivery.id + 10_000) is None
    assert detail is not None
    assert (detail.state, detail.event, detail.event_id) == ("pending", event.event, event.id)
    assert json.loads(detail.body)["id"] == str(event.id)  # the partner contract's event id
    assert detail.headers["X-Orderdesk-Delivery"] == str(delivery.id)
    assert "HMAC-SHA256" in detail.headers[TIMESTAMPED_HEADER]
    assert secret not in json.dumps(detail.headers) + detail.body
    assert len(detail.attempt_log) == detail.attempts == 1
    assert detail.attempt_log[0].status_code is None and detail.attempt_log[0].error
    assert detail.next_attempt_at is not None and detail.next_attempt_at > stack.clock()
