"""GET /console/intake and its forms: pausing a location (15/30/60/120 minutes, custom, until
resumed) and resuming it, products switched sold out and back, as the APIs then answer; CSRF;
staff acting only on their own organization's locations."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from tests.conftest import FakeClock
from tests.console.console_http import new_operator, signed_in
from tests.dialects.partner.orders_support import error_body, local_day, ok_data
from tests.dialects.restaurant.order_support import (
    NOW,
    create,
    create_ok,
    failed,
    line,
    pickup_body,
    restaurant,
)
from tests.factories import PartnerSetup, login, make_partner, order_body

from orderdesk.core.catalog.models import Product
from orderdesk.core.organizations.models import Location
from orderdesk.http.state import AppState

LATER = "2031-03-10 13:00:00"


def _pause_status(page: httpx.Response) -> str:
    """The chosen location's intake state as its page says it (other locations of the shared
    database are listed on the same page, some of them paused by other tests)."""
    found = re.search(r'id="pause-status">([^<]*)<', page.text)
    assert found, page.text[:500]
    return found.group(1)


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


async def _location(state: AppState, key: str) -> Location:
    async with state.reads() as session:
        found = await session.scalar(select(Location).where(Location.key == key))
    assert found is not None
    return found


async def _product_id(state: AppState, uid: str) -> int:
    async with state.reads() as session:
        found = await session.scalar(select(Product.id).where(Product.uid == uid))
    assert found is not None
    return found


def _partner_order(partner: PartnerSetup) -> Any:
    return order_body(partner, [(local_day(NOW, 3), "1217")])


async def test_pausing_a_store_refuses_api_orders_until_it_is_resumed(
    app: FastAPI, state: AppState, client: httpx.AsyncClient
) -> None:
    partner = await make_partner(state)
    store = await _location(state, partner.stores[0])
    headers = await login(client, partner)
    async with signed_in(app, await new_operator(state, "dispatcher")) as (console, csrf):
        answer = await console.post(
            f"/console/intake/{store.id}/pause", data={"csrf": csrf, "duration": "30"}
        )
        assert answer.status_code == 303
        page = await console.get(answer.headers["location"])
        # 09:07:30 UTC + 30 minutes is 11:37 in Riga (EET).
        assert _pause_status(page) == "paused until 11:37"

        refused = await client.post(
            "/partner/order/create", json=_partner_order(partner), headers=headers
        )
        body = error_body(refused, 422)
        assert body["data"][0]["field"] == "partner_details.store_id"

        answer = await console.post(f"/console/intake/{store.id}/resume", data={"csrf": csrf})
        assert answer.status_code == 303
        page = await console.get(answer.headers["location"])
        assert _pause_status(page) == "taking orders"
        ok_data(
            await client.post(
                "/partner/order/create", json=_partner_order(partner), headers=headers
            )
        )


@pytest.mark.parametrize(
    ("form", "shown"),
    [
        ({"duration": "until_resumed"}, "paused until resumed"),
        ({"duration": "custom", "custom": "45"}, "paused until 11:52"),
        ({"duration": "120"}, "paused until 13:07"),
    ],
)
async def test_pause_choices(
    app: FastAPI, state: AppState, form: dict[str, str], shown: str
) -> None:
    partner = await make_partner(state)
    store = await _location(state, partner.stores[0])
    async with signed_in(app, await new_operator(state, "admin")) as (console, csrf):
        answer = await console.post(
            f"/console/intake/{store.id}/pause", data={"csrf": csrf, **form}
        )
        assert answer.status_code == 303
        assert _pause_status(await console.get(f"/console/intake?location={store.id}")) == shown


@pytest.mark.parametrize(
    "form",
    [
        {"duration": "custom", "custom": "soon"},
        {"duration": "custom", "custom": "0"},
        {"duration": "custom", "custom": "5000"},
        {"duration": ""},
    ],
)
async def test_a_bad_pause_is_refused_and_changes_nothing(
    app: FastAPI, state: AppState, form: dict[str, str]
) -> None:
    partner = await make_partner(state)
    store = await _location(state, partner.stores[0])
    async with signed_in(app, await new_operator(state, "admin")) as (console, csrf):
        answer = await console.post(
            f"/console/intake/{store.id}/pause", data={"csrf": csrf, **form}
        )
        assert answer.status_code == 422
        assert "Nothing was changed" in answer.text
    assert (await _location(state, store.key)).paused_at is None


async def test_a_pause_without_the_csrf_token_is_refused_and_changes_nothing(
    app: FastAPI, state: AppState
) -> None:
    partner = await make_partner(state)
    store = await _location(state, partner.stores[0])
    async with signed_in(app, await new_operator(state, "dispatcher")) as (console, _):
        answer = await console.post(f"/console/intake/{store.id}/pause", data={"duration": "30"})
        assert answer.status_code == 403
    assert (await _location(state, store.key)).paused_at is None


async def test_a_product_sold_out_is_refused_until_switched_back(
    app: FastAPI, state: AppState, client: httpx.AsyncClient
) -> None:
    r = await restaurant(state)
    location = await _location(state, r.locations[0])
    acqua = await _product_id(state, f"{r.uid}-acqua")
    order = pickup_body(r, when=LATER, details=[line(r, "acqua")])
    async with signed_in(app, await new_operator(state, "staff", r.uid)) as (console, csrf):
        page = await console.get(f"/console/intake?location={location.id}&q=acqua")
        assert f'data-product="{acqua}"' in page.text
        answer = await console.post(
            f"/console/intake/{location.id}/products/{acqua}/sold-out", data={"csrf": csrf}
        )
        assert answer.status_code == 303
        page = await console.get(f"/console/intake?location={location.id}")
        assert "sold out until switched back" in page.text
        failed(await create(client, r, order), "PRODUCT_NOT_AVAILABLE", "details.0.product")

        answer = await console.post(
            f"/console/intake/{location.id}/products/{acqua}/available", data={"csrf": csrf}
        )
        assert answer.status_code == 303
        await create_ok(client, r, order)

        # Until a time on the location's clock: 09:07:30 UTC is 10:07:30 in Rome.
        answer = await console.post(
            f"/console/intake/{location.id}/products/{acqua}/sold-out",
            data={"csrf": csrf, "until": "12:30"},
        )
        assert answer.status_code == 303
        page = await console.get(f"/console/intake?location={location.id}")
        assert "sold out until 12:30" in page.text
        failed(await create(client, r, order), "PRODUCT_NOT_AVAILABLE", "details.0.product")

        bad = await console.post(
            f"/console/intake/{location.id}/products/{acqua}/sold-out",
            data={"csrf": csrf, "until": "half past"},
        )
        assert bad.status_code == 422


async def test_staff_act_only_on_their_own_locations(app: FastAPI, state: AppState) -> None:
    own = await make_partner(state)
    other = await restaurant(state)
    other_location = await _location(state, other.locations[0])
    acqua = await _product_id(state, f"{other.uid}-acqua")
    async with signed_in(app, await new_operator(state, "staff", own.name)) as (console, csrf):
        page = await console.get("/console/intake")
        assert page.status_code == 200 and other_location.title not in page.text
        assert (
            await console.get(f"/console/intake?location={other_location.id}")
        ).status_code == 404
        for path, data in (
            ("pause", {"duration": "30"}),
            ("resume", {}),
            (f"products/{acqua}/sold-out", {}),
            (f"products/{acqua}/available", {}),
        ):
            answer = await console.post(
                f"/console/intake/{other_location.id}/{path}", data={"csrf": csrf, **data}
            )
            assert answer.status_code == 404, path
    assert (await _location(state, other_location.key)).paused_at is None
