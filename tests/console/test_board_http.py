"""The orders board and an order's page over HTTP, signed in through the real sign-in form:
filters and search, keyset pages, the live fragment, what staff may see, CSRF, and an action
against a version that is no longer current (409 with the order as it is now)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import FakeClock
from tests.console.board_support import (
    OPERATOR_PASSWORD,
    make_operator,
    order_id,
    order_row,
    partner_order,
    restaurant_order,
)
from tests.dialects.restaurant.order_support import NOW, create_ok, pickup_body, restaurant

from orderdesk.core.operators.service import OperatorView
from orderdesk.http.state import AppState

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar, like a web (console pages are not in the API document)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c


async def sign_in(client: httpx.AsyncClient, operator: OperatorView) -> str:
    """Sign in through the form; returns the CSRF token the signed-in pages carry."""
    form = await client.get("/console/login")
    token = CSRF.search(form.text)
    assert token, form.text
    response = await client.post(
        "/console/login",
        data={"email": operator.email, "password": OPERATOR_PASSWORD, "csrf": token.group(1)},
    )
    assert response.status_code == 303, response.text
    page = await client.get("/console/")
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def shown(html: str) -> list[int]:
    """The order ids of the board's rows, top to bottom."""
    return [int(i) for i in re.findall(r'data-order-id="(\d+)"', html)]


async def test_board_is_newest_first_and_filters(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    partner, first = await partner_order(client, state)
    _, second = await partner_order(client, state, partner, slot="0712")
    _, elsewhere = await partner_order(client, state)
    _, resto = await restaurant_order(client, state)
    await sign_in(web, await make_operator(state))
    org_of = {o: (await order_row(state, o)).organization_id for o in (first, elsewhere, resto)}

    board = await web.get("/console/")
    assert board.status_code == 200
    rows = shown(board.text)
    assert [o for o in rows if o in (first, second, elsewhere, resto)] == [
        resto,
        elsewhere,
        second,
        first,
    ]
    assert "Content-Security-Policy".lower() in board.headers

    by_org = shown((await web.get("/console/", params={"org": org_of[first]})).text)
    assert by_org == [second, first]
    location = (await order_row(state, first)).location_id
    assert shown((await web.get("/console/", params={"location": location})).text) == [
        second,
        first,
    ]
    partners = shown((await web.get("/console/", params={"kind": "partner"})).text)
    assert resto not in partners and first in partners
    restaurants = shown((await web.get("/console/", params={"kind": "restaurant"})).text)
    assert resto in restaurants and first not in restaurants
    waiting = shown((await web.get("/console/", params={"status": "open"})).text)
    assert {first, second, elsewhere, resto} <= set(waiting)
    assert (
        shown(
            (await web.get("/console/", params={"org": org_of[resto], "status": "cancelled"})).text
        )
        == []
    )
    today = NOW.date().isoformat()
    created = shown(
        (await web.get("/console/", params={"created": today, "org": org_of[first]})).text
    )
    assert created == [second, first]
    booked_day = (await order_row(state, first)).booked_day
    assert booked_day is not None
    booked = shown(
        (
            await web.get(
                "/console/", params={"booked": booked_day.isoformat(), "org": org_of[first]}
            )
        ).text
    )
    assert booked == [second, first]
    none_booked = await web.get("/console/", params={"booked": "2030-01-01", "org": org_of[first]})
    assert shown(none_booked.text) == []

    bad = await web.get("/console/", params={"created": "yesterday", "org": "x"})
    assert bad.status_code == 200
    assert "could not be read" in bad.text


async def test_days_are_the_local_days_of_each_orders_location(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    # 22:30 UTC on 10 March: already 11 March (00:30) in Riga, still 10 March (23:30) in Milano.
    clock.set(datetime(2031, 3, 10, 22, 30, tzinfo=UTC))
    _, riga = await partner_order(client, state)
    r = await restaurant(state)
    # a pickup at 00:15 in Milano on 11 March, which is 23:15 UTC on 10 March
    made = await create_ok(client, r, pickup_body(r, when="2031-03-11 00:15:00"))
    milano = await order_id(state, made["uid"])
    await sign_in(web, await make_operator(state))
    ours = {riga, milano}

    async def board(**params: str | int) -> set[int]:
        return set(shown((await web.get("/console/", params=params)).text)) & ours

    # every location in view: one UTC range per zone
    assert await board(created="2031-03-11") == {riga}
    assert await board(created="2031-03-10") == {milano}
    assert await board(booked="2031-03-11", kind="restaurant") == {milano}
    assert await board(booked="2031-03-10", kind="restaurant") == set()
    # one organization's locations in one zone
    riga_org = (await order_row(state, riga)).organization_id
    milano_org = (await order_row(state, milano)).organization_id
    assert await board(created="2031-03-11", org=riga_org) == {riga}
    assert await board(created="2031-03-10", org=riga_org) == set()
    assert await board(created="2031-03-10", org=milano_org) == {milano}
    assert await board(booked="2031-03-11", org=milano_org) == {milano}
    # the page shows the same local times the filter used
    page = (await web.get("/console/", params={"created": "2031-03-10", "org": milano_org})).text
    assert "23:30" in page and "00:15" in page


async def test_search_by_name_phone_and_number(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    partner, anna = await partner_order(client, state)
    _, berzins = await partner_order(
        client,
        state,
        partner,
        slot="0712",
        customer={"phone_number": "+371 29 555 123", "first_name": "Janis", "last_name": "Berzins"},
    )
    org = (await order_row(state, anna)).organization_id
    await sign_in(web, await make_operator(state))

    async def search(q: str) -> list[int]:
        response = await web.get("/console/", params={"q": q, "org": org})
        assert response.status_code == 200
        return shown(response.text)

    assert await search("berzins") == [berzins]
    assert await search("Janis Berz") == [berzins]
    assert await search("555123") == [berzins]
    assert await search("ozola") == [anna]
    number = (await order_row(state, anna)).number
    assert anna in await search(f"#{number}")
    assert await search("nobody-like-this") == []


async def test_older_pages_by_keyset_and_the_live_fragment(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    partner, oldest = await partner_order(client, state)
    org = (await order_row(state, oldest)).organization_id
    await sign_in(web, await make_operator(state))
    before = shown((await web.get("/console/", params={"org": org})).text)
    assert before == [oldest]

    nothing_new = await web.get("/console/board/rows", params={"org": org, "after": oldest})
    assert nothing_new.status_code == 204
    _, newer = await partner_order(client, state, partner, slot="0712")
    fresh = await web.get("/console/board/rows", params={"org": org, "after": oldest})
    assert fresh.status_code == 200
    assert shown(fresh.text) == [newer]
    # The next poll asks for what is newer than the row it just added.
    assert f"after={newer}" in fresh.text and 'hx-swap-oob="true"' in fresh.text

    older = await web.get("/console/", params={"org": org, "before": newer})
    assert shown(older.text) == [oldest]


async def test_order_page_shows_lines_money_booking_and_history(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await partner_order(client, state)
    order = await order_row(state, oid)
    await sign_in(web, await make_operator(state))
    page = await web.get(f"/console/orders/{oid}")
    assert page.status_code == 200
    assert "PAX wardrobe 150x236" in page.text
    whole, cents = divmod(order.total, 100)
    assert f"€{whole:,}.{cents:02d}" in page.text
    assert str(order.booked_day) in page.text
    assert "Anna" in page.text and "Brivibas iela 1, Riga" in page.text
    assert "created" in page.text and "awaiting_master_request" in page.text
    # Exactly the table's moves from here, without the system's own.
    for target in ("awaiting_master_accept", "in_stock_awaiting_date"):
        assert f'value="{target}"' in page.text
    assert 'value="in_work"' not in page.text
    # Nor the table's move to where it already is.
    assert 'value="awaiting_master_request"' not in page.text
    assert (await web.get("/console/orders/999999999")).status_code == 404
    assert (await web.get("/console/orders/abc")).status_code == 404


async def test_staff_see_their_organization_only(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    r, mine = await restaurant_order(client, state)
    _, theirs = await restaurant_order(client, state)
    _, partners = await partner_order(client, state)
    staff = await make_operator(state, "staff", r.uid)
    csrf = await sign_in(web, staff)

    rows = shown((await web.get("/console/")).text)
    assert mine in rows and theirs not in rows and partners not in rows
    other_org = (await order_row(state, theirs)).organization_id
    assert shown((await web.get("/console/", params={"org": other_org})).text) == []

    missing = await web.get("/console/orders/999999999")
    for oid in (theirs, partners):
        page = await web.get(f"/console/orders/{oid}")
        assert page.status_code == 404
        assert page.text == missing.text
        version = (await order_row(state, oid)).version
        refused = await web.post(
            f"/console/orders/{oid}/cancel", data={"csrf": csrf, "version": version}
        )
        assert refused.status_code == 404
        assert (await order_row(state, oid)).status == "open"
    assert (await web.get(f"/console/orders/{mine}")).status_code == 200


async def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await partner_order(client, state)
    await sign_in(web, await make_operator(state))
    version = (await order_row(state, oid)).version
    for data in ({"version": version}, {"version": version, "csrf": "forged"}):
        refused = await web.post(f"/console/orders/{oid}/cancel", data=data)
        assert refused.status_code == 403
    after = await order_row(state, oid)
    assert (after.status, after.version) == ("open", version)


async def test_confirm_then_a_stale_form_gets_409_with_the_fresh_order(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await restaurant_order(client, state)
    csrf = await sign_in(web, await make_operator(state))
    page = await web.get(f"/console/orders/{oid}")
    assert "data-ends-at" in page.text
    seen = (await order_row(state, oid)).version

    done = await web.post(f"/console/orders/{oid}/confirm", data={"csrf": csrf, "version": seen})
    assert done.status_code == 303
    confirmed = await web.get(done.headers["location"])
    assert "Order confirmed." in confirmed.text
    assert "data-ends-at" not in confirmed.text
    assert (await order_row(state, oid)).substatus == "confirmed"

    # A second operator's form still shows the version before the confirmation.
    stale = await web.post(f"/console/orders/{oid}/cancel", data={"csrf": csrf, "version": seen})
    assert stale.status_code == 409
    assert "Someone else changed this order: it is now confirmed" in stale.text
    assert "Nothing was changed." in stale.text
    assert f'name="version" value="{seen + 1}"' in stale.text
    assert (await order_row(state, oid)).substatus == "confirmed"


async def test_move_reschedule_and_refusals_are_said_on_the_page(
    web: httpx.AsyncClient, client: httpx.AsyncClient, state: AppState
) -> None:
    partner, oid = await partner_order(client, state)
    csrf = await sign_in(web, await make_operator(state))
    order = await order_row(state, oid)
    assert order.booked_day is not None

    illegal = await web.post(
        f"/console/orders/{oid}/move",
        data={"csrf": csrf, "version": order.version, "target": "done"},
    )
    assert illegal.status_code == 409
    assert "Nothing was changed" in illegal.text
    no_version = await web.post(f"/console/orders/{oid}/cancel", data={"csrf": csrf})
    assert no_version.status_code == 422

    new_day = order.booked_day  # the same day, another timeslot
    moved = await web.post(
        f"/console/orders/{oid}/reschedule",
        data={
            "csrf": csrf,
            "version": order.version,
            "date": new_day.isoformat(),
            "slot": "0712",
        },
    )
    assert moved.status_code == 303, moved.text
    after = await order_row(state, oid)
    assert (after.booked_day, after.booked_slot) == (new_day, "0712")

    await partner_order(client, state, partner, slot="1721")
    full = await web.post(
        f"/console/orders/{oid}/reschedule",
        data={"csrf": csrf, "version": after.version, "date": new_day.isoformat(), "slot": "1721"},
    )
    assert full.status_code == 422
    assert "no master is free" in full.text
    assert (await order_row(state, oid)).booked_slot == "0712"

    step = await web.post(
        f"/console/orders/{oid}/move",
        data={"csrf": csrf, "version": after.version, "target": "awaiting_master_accept"},
    )
    assert step.status_code == 303
    page = await web.get(step.headers["location"])
    assert "Status changed." in page.text
    assert 'value="in_work"' in page.text
