"""Busy mode and sold out in the setup document: set where the document gives the keys, left
to operators where it does not, and idempotent like the rest of the document."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.dialects.restaurant.order_support import restaurant
from tests.factories import make_partner

from orderdesk.core.catalog import sold_out
from orderdesk.core.catalog.models import Product
from orderdesk.core.organizations import busy
from orderdesk.core.organizations.models import Location
from orderdesk.http.state import AppState
from orderdesk.setup import ApplyReport, SetupInvalid, apply_setup, parse_setup

END = datetime(2031, 3, 10, 14, 30, tzinfo=UTC)
NOW = END - timedelta(hours=2)


async def _apply(state: AppState, document: dict[str, Any]) -> ApplyReport:
    async with state.transaction() as session:
        return await apply_setup(session, parse_setup(document))


async def _location(state: AppState, key: str) -> Location:
    async with state.sessions() as session:
        found = await session.scalar(select(Location).where(Location.key == key))
    assert found is not None
    return found


async def _item(state: AppState, item: int) -> int:
    async with state.sessions() as session:
        found = await session.scalar(select(Product.id).where(Product.item_id == item))
    assert found is not None
    return found


async def _snoozed(state: AppState, key: str) -> dict[int, datetime | None]:
    location = await _location(state, key)
    async with state.sessions() as session:
        return await sold_out.sold_out_products(session, location.id, NOW)


def _store(document: dict[str, Any]) -> dict[str, Any]:
    store: dict[str, Any] = document["partners"][0]["stores"][0]
    return store


async def test_a_store_paused_and_items_sold_out_by_the_document_apply_once(
    state: AppState,
) -> None:
    partner = await make_partner(state)
    document = copy.deepcopy(partner.document)
    _store(document)["paused_until"] = "2031-03-10T16:30:00+02:00"
    _store(document)["sold_out"] = [
        {"item": partner.items[0]},
        {"item": partner.items[1], "until": "2031-03-10T14:30:00Z"},
    ]
    first = await _apply(state, document)
    store = partner.stores[0]
    assert {f"pause {store}", f"sold_out {store}"} <= set(first.updated)

    location = await _location(state, store)
    assert busy.paused_until(location, NOW) == END
    assert not busy.paused(location, END)
    first_item, second_item = (
        await _item(state, partner.items[0]),
        await _item(state, partner.items[1]),
    )
    assert await _snoozed(state, store) == {first_item: None, second_item: END}

    again = await _apply(state, document)
    assert {f"pause {store}", f"sold_out {store}"} <= set(again.unchanged)
    assert not again.updated and not again.created
    assert (await _location(state, store)).paused_at == location.paused_at


async def test_a_document_without_the_keys_keeps_what_operators_switched(
    state: AppState,
) -> None:
    partner = await make_partner(state)
    store = partner.stores[0]
    location = await _location(state, store)
    item = await _item(state, partner.items[0])
    async with state.transaction() as session:
        await busy.pause_location(session, location.id, minutes=None, actor="ops", now=NOW)
        await sold_out.mark_sold_out(session, item, location.id, until=None, actor="ops", now=NOW)

    report = await _apply(state, partner.document)
    assert not any(e.startswith(("pause", "sold_out")) for e in report.updated + report.unchanged)
    assert busy.paused_until(await _location(state, store), NOW) == busy.UNTIL_RESUMED
    assert await _snoozed(state, store) == {item: None}


async def test_null_and_an_empty_list_switch_everything_back_on(state: AppState) -> None:
    partner = await make_partner(state)
    store = partner.stores[0]
    location = await _location(state, store)
    item = await _item(state, partner.items[0])
    async with state.transaction() as session:
        await busy.pause_location(session, location.id, minutes=60, actor="ops", now=NOW)
        await sold_out.mark_sold_out(session, item, location.id, until=None, actor="ops", now=NOW)
    document = copy.deepcopy(partner.document)
    _store(document).update(paused_until=None, sold_out=[])

    report = await _apply(state, document)
    assert {f"pause {store}", f"sold_out {store}"} <= set(report.updated)
    assert not busy.paused(await _location(state, store), NOW)
    assert await _snoozed(state, store) == {}


async def test_resumed_pauses_a_store_until_it_is_resumed(state: AppState) -> None:
    partner = await make_partner(state)
    document = copy.deepcopy(partner.document)
    _store(document)["paused_until"] = "resumed"
    await _apply(state, document)
    location = await _location(state, partner.stores[0])
    assert busy.paused_until(location, NOW + timedelta(days=365)) == busy.UNTIL_RESUMED
    assert location.paused_by == "setup"
    assert (await _apply(state, document)).updated == []


async def test_a_subrestaurant_names_its_sold_out_products_by_uid(state: AppState) -> None:
    r = await restaurant(state)
    document = copy.deepcopy(r.document)
    sub = document["restaurants"][0]["subrestaurants"][0]
    sub["sold_out"] = [{"product": f"{r.uid}-acqua", "until": "2031-03-10T15:30:00+01:00"}]
    await _apply(state, document)
    async with state.sessions() as session:
        acqua = await session.scalar(select(Product.id).where(Product.uid == f"{r.uid}-acqua"))
    assert await _snoozed(state, r.locations[0]) == {acqua: END}
    assert await _snoozed(state, r.locations[1]) == {}


async def test_an_unknown_sold_out_product_is_refused_with_its_path(state: AppState) -> None:
    r = await restaurant(state)
    document = copy.deepcopy(r.document)
    document["restaurants"][0]["subrestaurants"][1]["sold_out"] = [{"product": "no-such-dish"}]
    with pytest.raises(SetupInvalid) as refused:
        await _apply(state, document)
    assert [str(e) for e in refused.value.errors] == [
        "$.restaurants[0].subrestaurants[1].sold_out[0].product: "
        "no product no-such-dish in this restaurant"
    ]
    assert await _snoozed(state, r.locations[1]) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2031-03-10T14:30:00", "needs its UTC offset"),
        ("later", 'must be "resumed", null, or a date and time'),
        (True, 'must be "resumed", null, or a date and time'),
    ],
)
async def test_a_paused_until_that_is_not_a_time_is_refused(
    state: AppState, value: object, message: str
) -> None:
    partner = await make_partner(state)
    document = copy.deepcopy(partner.document)
    _store(document)["paused_until"] = value
    _store(document)["sold_out"] = [{"item": 1}, {"item": 1}]
    with pytest.raises(SetupInvalid) as refused:
        parse_setup(document)
    errors = {e.path: e.message for e in refused.value.errors}
    assert message in errors["$.partners[0].stores[0].paused_until"]
    assert "listed twice" in errors["$.partners[0].stores[0].sold_out"]
