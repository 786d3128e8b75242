"""Helpers for the restaurant ordering tests: a fixed clock instant, request bodies, exact
envelopes, and reading back what an order wrote (outbox events, slot use, coupon uses)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from tests.factories import MILANO_PLACES, RestaurantSetup, apply_document, restaurant_doc

from orderdesk.background import Background
from orderdesk.core.events.models import OutboxEvent
from orderdesk.core.orders.models import Order
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.pricing.models import Coupon
from orderdesk.core.scheduling.models import SlotUsage
from orderdesk.http.state import AppState

# Monday 10 March 2031, 10:07:30 in Milano (CET, UTC+1): with the 20-minute lead the first
# pickup time is 10:30 local; the 7-day horizon ends on Sunday 16 March.
NOW = datetime(2031, 3, 10, 9, 7, 30, tzinfo=UTC)
TODAY = "2031-03-10"
PICKUP = "2031-03-10 11:00:00"
# The create answer's times are UTC RFC 3339 (the seed's order-create page).
NOW_UTC = "2031-03-10T09:07:30Z"
PICKUP_UTC = "2031-03-10T10:00:00Z"
LUNCH = [["11:30", "14:30"]]

FIRST_NAME, LAST_NAME = "Anna", "Rossi"
EMAIL, PHONE = "anna@example.com", "02 1234567"
PHONE_E164 = "+39021234567"


def ok(response: httpx.Response, *payload: str) -> dict[str, Any]:
    """A success envelope: HTTP 200, ``success`` true and exactly the ``payload`` keys."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body.get("success") is True, body
    assert set(body) == {"success", *payload}, body
    return body


def failed(response: httpx.Response, code: str, names: str, *, status: int = 200) -> str:
    """A failure envelope with exactly ``success``/``error``/``message``, the message naming
    ``names`` (the field at fault); returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error", "message"}, body
    assert body["success"] is False
    assert body["error"] == code, body
    assert names in body["message"], body["message"]
    return str(body["message"])


async def restaurant(
    state: AppState,
    edit: Callable[[dict[str, Any]], None] | None = None,
    *,
    places: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> RestaurantSetup:
    """``make_restaurant`` with a hook that may edit the generated document (its locations,
    hours and products name each other by the generated uid) before it is applied."""
    doc = restaurant_doc(**overrides)
    if edit is not None:
        edit(doc)
    document: dict[str, Any] = {
        "version": 1,
        "restaurants": [doc],
        "places": places if places is not None else MILANO_PLACES,
    }
    await apply_document(state, document)
    return RestaurantSetup(
        doc["uid"],
        doc["api_keys"][0],
        doc["clients"][0]["client_id"],
        doc["clients"][0]["client_secret"],
        [s["uid"] for s in doc["subrestaurants"]],
        document,
    )


def set_locations(**settings: Any) -> Callable[[dict[str, Any]], None]:
    """An ``edit`` giving every location of the document these settings."""

    def edit(doc: dict[str, Any]) -> None:
        for location in doc["subrestaurants"]:
            location.update(settings)

    return edit


def only_first_location(doc: dict[str, Any]) -> None:
    """An ``edit`` leaving the restaurant with its first location only."""
    first = doc["subrestaurants"][0]["uid"]
    doc["subrestaurants"] = doc["subrestaurants"][:1]
    doc["zones"] = [z for z in doc["zones"] if z["subrestaurant_uid"] == first]
    doc["products"] = [
        p
        for p in doc["products"]
        if not p.get("subrestaurant_uids") or first in p["subrestaurant_uids"]
    ]


def coupon_code(r: RestaurantSetup, prefix: str) -> str:
    """The generated code of ``r``'s coupon starting with ``prefix`` (WELCOME, LAST)."""
    codes: list[str] = [c["code"] for c in r.document["restaurants"][0]["coupons"]]
    return next(c for c in codes if c.startswith(prefix))


def line(
    r: RestaurantSetup, product: str, quantity: int = 1, **options: list[dict[str, Any]]
) -> dict[str, Any]:
    """An order line of ``r``'s product (suffix after the uid); ``options`` by option suffix."""
    return {
        "product": {"uid": f"{r.uid}-{product}"},
        "quantity": quantity,
        "options": [
            {"uid": f"{r.uid}-{name}", "values": values} for name, values in options.items()
        ],
    }


def margherita(
    r: RestaurantSetup, quantity: int = 1, size: str = "normale", **extra: int
) -> dict[str, Any]:
    """A Margherita line: one ``size`` value and ``extra`` values with their quantities."""
    options: dict[str, list[dict[str, Any]]] = {"size": [{"uid": size}]}
    if extra:
        options["extra"] = [
            {"uid": uid.replace("_", "-"), "quantity": q} for uid, q in extra.items()
        ]
    return line(r, "margherita", quantity, **options)


def pickup_body(
    r: RestaurantSetup, *, when: str | None = PICKUP, location: int = 0, **overrides: Any
) -> dict[str, Any]:
    """A cash (pos) pickup order of one Acqua at ``r``'s location ``location``."""
    body: dict[str, Any] = {
        "client": {
            "first_name": FIRST_NAME,
            "last_name": LAST_NAME,
            "email": EMAIL,
            "phone": PHONE,
        },
        "dmethod": "0",
        "payment_method": "cash",
        "payment_method_sub": "pos",
        "subrestaurant_uid": r.locations[location],
        "details": [line(r, "acqua")],
    }
    if when is not None:
        body["pickup"] = {"date": when}
    body.update(overrides)
    return body


def delivery_body(
    r: RestaurantSetup,
    place_id: str = "via-dante-10-milano",
    *,
    when: str = "2031-03-10 12:00:00",
    **overrides: Any,
) -> dict[str, Any]:
    """A home delivery of two maxi Margheritas with two extra mozzarellas (25.00)."""
    body = pickup_body(
        r,
        when=None,
        dmethod="1",
        details=[margherita(r, 2, "maxi", mozz=2)],
        delivery={
            "date": when,
            "address": {"place_id": place_id, "doorbell": "Rossi", "floor": "3"},
        },
    )
    body.update(overrides)
    return body


async def create(
    client: httpx.AsyncClient, r: RestaurantSetup, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post(
        "/api/order/create", headers={**r.client_headers, **headers}, json=body
    )


async def create_ok(
    client: httpx.AsyncClient, r: RestaurantSetup, body: dict[str, Any]
) -> dict[str, Any]:
    order: dict[str, Any] = ok(await create(client, r, body), "order")["order"]
    return order


async def get_order(client: httpx.AsyncClient, r: RestaurantSetup, uid: str) -> dict[str, Any]:
    response = await client.get("/api/orders/get", headers=r.key_headers, params={"uid": uid})
    order: dict[str, Any] = ok(response, "order")["order"]
    return order


async def list_orders(
    client: httpx.AsyncClient, r: RestaurantSetup, **params: int
) -> httpx.Response:
    return await client.get("/api/orders/list", headers=r.key_headers, params=params)


async def times(client: httpx.AsyncClient, r: RestaurantSetup, **body: Any) -> httpx.Response:
    body.setdefault("dmethod", "0")
    body.setdefault("subrestaurant_uid", r.locations[0])
    return await client.post(
        "/api/order/pickup_delivery_times", headers=r.client_headers, json=body
    )


async def pickup_dates(client: httpx.AsyncClient, r: RestaurantSetup, **body: Any) -> list[str]:
    data = ok(await times(client, r, **body), "data")["data"]
    return [t["date"] for t in data["pickup_times"]]


async def expire_all(state: AppState) -> None:
    """Run the countdown timeouts until nothing is left due (the shared database may hold
    other tests' orders due before ours)."""
    background = Background(state.sessions, state.clock)
    while await background.expire_countdowns():
        pass


async def order_count(state: AppState, r: RestaurantSetup) -> int:
    async with state.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Order)
            .join(Organization)
            .where(Organization.key == r.uid)
        )
    return int(count or 0)


async def outbox_events(state: AppState, order_uid: str) -> list[OutboxEvent]:
    async with state.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxEvent)
                .join(Order, Order.id == OutboxEvent.order_id)
                .where(Order.uid == order_uid)
                .order_by(OutboxEvent.id)
            )
        )


async def restaurant_events(state: AppState, r: RestaurantSetup) -> list[str]:
    async with state.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxEvent.event)
                .join(Organization)
                .where(Organization.key == r.uid)
                .order_by(OutboxEvent.id)
            )
        )


async def slot_use(state: AppState, location: str, day: date, slot: str) -> int:
    async with state.sessions() as session:
        used = await session.scalar(
            select(SlotUsage.used)
            .join(Location, Location.id == SlotUsage.location_id)
            .where(Location.key == location, SlotUsage.day == day, SlotUsage.slot == slot)
        )
    return int(used or 0)


async def coupon_left(state: AppState, r: RestaurantSetup, code: str) -> int | None:
    async with state.sessions() as session:
        quantity: int | None = await session.scalar(
            select(Coupon.quantity)
            .join(Organization)
            .where(Organization.key == r.uid, Coupon.code == code)
        )
    return quantity
