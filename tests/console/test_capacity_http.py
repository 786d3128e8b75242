"""GET /console/capacity and its forms: a store's week, masters set per cell (+1, a number,
a day off), a restaurant's orders per slot set for a day (and the API offering and accepting
what was set), CSRF, and staff seeing and editing only their own organization's locations."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from tests.console.console_http import new_operator, signed_in
from tests.dialects.restaurant.order_support import (
    create,
    create_ok,
    failed,
    pickup_body,
    pickup_dates,
)
from tests.factories import MILANO_PLACES, login, make_partner, make_restaurant, order_body

from orderdesk.core.organizations.models import Location
from orderdesk.core.scheduling import calendar
from orderdesk.core.scheduling.service import local_today
from orderdesk.http.state import AppState


async def _store(state: AppState, key: str) -> Location:
    async with state.reads() as session:
        found = await session.scalar(select(Location).where(Location.key == key))
    assert found is not None
    return found


async def _capacity(state: AppState, location: Location, day: date, slot: str) -> int:
    async with state.reads() as session:
        week = await calendar.capacity_week(session, location.id, day, now=state.now())
    cell = week.cell(day, slot)
    assert cell is not None
    return cell.capacity


async def _set_cell(
    console: httpx.AsyncClient, csrf: str, location: Location, day: date, slot: str, value: str
) -> int:
    """Post the cell form of ``location``'s ``day`` and ``slot``; the answer's status."""
    answer = await console.post(
        f"/console/capacity/{location.id}/cell",
        data={"csrf": csrf, "day": day.isoformat(), "slot": slot, "capacity": value},
    )
    return answer.status_code


async def test_the_week_shows_booked_against_masters_and_an_extra_master_is_added(
    app: FastAPI, state: AppState, client: httpx.AsyncClient
) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    store = await _store(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=2)
    body = order_body(partner, [(day.isoformat(), "0712")])
    created = await client.post(
        "/partner/order/create", json=body, headers=await login(client, partner)
    )
    assert created.status_code == 200, created.text
    operator = await new_operator(state, "dispatcher")
    async with signed_in(app, operator) as (console, csrf):
        page = await console.get(f"/console/capacity?location={store.id}&week={day.isoformat()}")
        assert page.status_code == 200
        assert f'data-day="{day.isoformat()}" data-slot="0712"' in page.text
        cell = page.text.split(f'data-day="{day.isoformat()}" data-slot="0712"')[1][:200]
        assert "1 / 1" in cell

        # Full: another order for that slot is refused; an extra master lets it in.
        again = await client.post(
            "/partner/order/create", json=body, headers=await login(client, partner)
        )
        assert again.status_code == 422, again.text
        answer = await console.post(
            f"/console/capacity/{store.id}/cell",
            data={
                "csrf": csrf,
                "day": day.isoformat(),
                "slot": "0712",
                "capacity": "1",
                "step": "1",
            },
        )
        assert answer.status_code == 303
        assert await _capacity(state, store, day, "0712") == 2
        again = await client.post(
            "/partner/order/create", json=body, headers=await login(client, partner)
        )
        assert again.status_code == 200, again.text

        # Lower than booked: accepted and shown as overbooked.
        assert await _set_cell(console, csrf, store, day, "0712", "1") == 303
        page = await console.get(f"/console/capacity?location={store.id}&week={day.isoformat()}")
        cell = page.text.split(f'data-day="{day.isoformat()}" data-slot="0712"')[1][:300]
        assert "2 / 1" in cell and "overbooked" in cell

        answer = await console.post(
            f"/console/capacity/{store.id}/day-off", data={"csrf": csrf, "day": day.isoformat()}
        )
        assert answer.status_code == 303
        assert [await _capacity(state, store, day, s) for s in ("0712", "1217", "1721")] == [
            0,
            0,
            0,
        ]


async def test_bad_input_is_refused_with_a_reason_and_changes_nothing(
    app: FastAPI, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    store = await _store(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=1)
    async with signed_in(app, await new_operator(state, "admin")) as (console, csrf):
        for data in (
            {"capacity": "-2"},
            {"capacity": "many"},
            {"capacity": "1", "slot": "0000"},
            {"capacity": "1", "day": "yesterday"},
            {"capacity": "1", "day": (day - timedelta(days=3)).isoformat()},
        ):
            form = {"csrf": csrf, "day": day.isoformat(), "slot": "0712", **data}
            answer = await console.post(f"/console/capacity/{store.id}/cell", data=form)
            assert answer.status_code == 422, (data, answer.status_code)
            assert "Nothing was changed" in answer.text
        bad_week = await console.get(f"/console/capacity?location={store.id}&week=soon")
        assert bad_week.status_code == 400
    assert await _capacity(state, store, day, "0712") == 1


async def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    app: FastAPI, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    store = await _store(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=1)
    async with signed_in(app, await new_operator(state, "dispatcher")) as (console, _):
        answer = await console.post(
            f"/console/capacity/{store.id}/cell",
            data={"day": day.isoformat(), "slot": "0712", "capacity": "5"},
        )
        assert answer.status_code == 403
        answer = await console.post(
            f"/console/capacity/{store.id}/day-off",
            data={"day": day.isoformat(), "csrf": "not-the-token"},
        )
        assert answer.status_code == 403
    assert await _capacity(state, store, day, "0712") == 1


async def test_staff_see_and_edit_only_their_own_stores(app: FastAPI, state: AppState) -> None:
    own = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    other = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    own_store = await _store(state, own.stores[0])
    other_store = await _store(state, other.stores[0])
    day = local_today(other_store, state.now()) + timedelta(days=1)
    async with signed_in(app, await new_operator(state, "staff", own.name)) as (console, csrf):
        page = await console.get("/console/capacity")
        assert page.status_code == 200
        assert f'value="{own_store.id}"' in page.text
        assert other_store.title not in page.text
        assert (
            await console.get(f"/console/capacity?location={other_store.id}")
        ).status_code == 404
        assert await _set_cell(console, csrf, other_store, day, "0712", "3") == 404
        assert await _set_cell(console, csrf, own_store, day, "0712", "3") == 303
    assert await _capacity(state, other_store, day, "0712") == 1
    assert await _capacity(state, own_store, day, "0712") == 3


async def test_a_restaurant_slot_set_for_a_day_is_what_the_api_offers_and_accepts(
    app: FastAPI, state: AppState, client: httpx.AsyncClient
) -> None:
    r = await make_restaurant(state, places=MILANO_PLACES)
    location = await _store(state, r.locations[0])
    day = local_today(location, state.now()) + timedelta(days=2)
    noon = f"{day.isoformat()} 12:00:00"

    operator = await new_operator(state, "staff", r.uid)
    async with signed_in(app, operator) as (console, csrf):
        page = await console.get(f"/console/capacity?location={location.id}&week={day}")
        assert page.status_code == 200 and "Orders per time slot" in page.text
        cell = page.text.split(f'data-day="{day.isoformat()}" data-slot="12:00"')[1][:900]
        assert "0 / 4" in cell and 'name="capacity"' in cell and "An extra order" in cell
        assert await _set_cell(console, csrf, location, day, "12:00", "1") == 303
        no_orders = await console.post(
            f"/console/capacity/{location.id}/day-off",
            data={"csrf": csrf, "day": (day + timedelta(days=1)).isoformat()},
        )
        assert no_orders.status_code == 303
        page = await console.get(f"/console/capacity?location={location.id}&week={day}")
        cell = page.text.split(f'data-day="{day.isoformat()}" data-slot="12:00"')[1][:400]
        assert "0 / 1" in cell and f'title="set for this day by operator:{operator.email}, ' in cell

    offered = await pickup_dates(client, r)
    assert noon in offered and f"{day.isoformat()} 12:15:00" in offered
    assert not any(t.startswith((day + timedelta(days=1)).isoformat()) for t in offered)

    await create_ok(client, r, pickup_body(r, when=noon))
    full = failed(
        await create(client, r, pickup_body(r, when=noon)), "VALIDATION_ERROR", "pickup.date"
    )
    assert "full" in full
    next_noon = f"{(day + timedelta(days=1)).isoformat()} 12:00:00"
    failed(
        await create(client, r, pickup_body(r, when=next_noon)), "VALIDATION_ERROR", "pickup.date"
    )


async def test_signed_out_visitors_are_sent_to_sign_in(app: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anonymous:
        answer = await anonymous.get("/console/capacity")
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
