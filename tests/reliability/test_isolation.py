"""Isolation between organizations: every endpoint that takes an id of something an organization
owns, called by another organization (and by the other dialect's credentials).

Each test builds the same small world: two partners (A attacks, B is the victim) and two
restaurants (A attacks, B is the victim), each with orders, images, coupons and a menu. A cell
makes one hostile call and asserts three things:

* the answer is the dialect's own not-found / unauthorized error (or, for lists, a list without
  the victim's rows), and where the endpoint takes an id, the answer is the same as for an id that
  does not exist at all (masking the id itself), so ownership cannot be probed;
* nothing of the victims changed: every row of every table that belongs to partner B or
  restaurant B, directly or through foreign keys (orders, lines, events, outbox, coupons and their
  uses, slot usage, images, menu, tokens...), is identical before and after the call;
* the control: the owner (or the right kind of credential) making the same call succeeds, so the
  refusal is about ownership and not a malformed request.

List endpoints filtered by another organization's id (``order/list`` by store, ``menu/products``
by category) answer like a filter naming nothing: an empty list, not an error.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image as PILImage
from sqlalchemy import or_, select
from tests.factories import (
    MILANO_PLACES,
    PartnerSetup,
    RestaurantSetup,
    apply_document,
    login,
    make_partner,
    order_body,
    restaurant_doc,
)

from orderdesk.core.orders.models import Order
from orderdesk.db.models import Base
from orderdesk.http.state import AppState

# ---------------------------------------------------------------------------------------------
# Envelopes


def partner_ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["statusCode"] == 200, body
    return body["data"]


PARTNER_ERRORS = {
    401: ("UnAuthorizedError", "NO_RIGHTS"),
    404: ("NotFoundError", "NOT_FOUND"),
    422: ("ValidationError", "VALIDATION_ERROR"),
}


def partner_error(response: httpx.Response, code: int) -> dict[str, Any]:
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    name, kind = PARTNER_ERRORS[code]
    assert (body["name"], body["type"], body["code"], body["statusCode"], body["status"]) == (
        name,
        kind,
        code,
        code,
        "error",
    ), body
    return body


def partner_field_error(response: httpx.Response, field: str, kind: str = "not_found") -> None:
    errors = {e["field"]: e["type"] for e in partner_error(response, 422)["data"]}
    assert errors.get(field) == kind, errors


def restaurant_ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is True, body
    return body


def restaurant_error(response: httpx.Response, code: str, status: int = 200) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error", "message"}, body
    assert body["success"] is False and body["error"] == code, body
    return str(body["message"])


def _masked(value: Any, needles: Sequence[str]) -> Any:
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, "<ID>")
        return value
    if isinstance(value, list):
        return [_masked(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, needles) for k, v in value.items()}
    return value


def same_as_missing(
    foreign: httpx.Response, missing: httpx.Response, foreign_id: str, missing_id: str
) -> None:
    """A foreign id is answered exactly like an id nobody has (the id itself masked)."""
    assert foreign.status_code == missing.status_code, (foreign.text, missing.text)
    assert _masked(foreign.json(), [foreign_id]) == _masked(missing.json(), [missing_id])


# ---------------------------------------------------------------------------------------------
# The world


@dataclass
class World:
    client: httpx.AsyncClient
    state: AppState
    pa: PartnerSetup
    pb: PartnerSetup
    pa_headers: dict[str, str]
    pb_headers: dict[str, str]
    pa_order: dict[str, Any]
    pb_booked: dict[str, Any]  # in stock, a master booked
    pb_waiting: dict[str, Any]  # not in stock yet: nothing booked
    pb_booked_uid: str
    pb_booked_token: str
    pb_image: str  # uploaded, not linked to any order
    pb_linked_image: str  # linked to pb_booked
    ra: RestaurantSetup
    rb: RestaurantSetup
    rb_marker: str  # a word only in restaurant B's product names
    ra_order: dict[str, Any]
    rb_pending: dict[str, Any]  # awaiting confirmation
    rb_confirmed: dict[str, Any]  # confirmed, open
    rb_pending_id: int
    ra_bearer: str
    pickup_at: str
    delivery_at: str
    keyed: tuple[str, dict[str, Any], Any] = ("", {}, None)  # Idempotency-Key, body, answer

    @property
    def victims(self) -> list[str]:
        return [self.pb.name, self.rb.uid]


def local_day(offset: int, timezone: str = "Europe/Riga") -> str:
    today: date = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    return (today + timedelta(days=offset)).isoformat()


BERGAMO = "piazza-duomo-bergamo"


async def _restaurant(state: AppState, *, far_zone: bool, marker: str) -> RestaurantSetup:
    """``restaurant_doc`` with a product name carrying ``marker``; ``far_zone`` adds a 60 km zone
    around the centre that reaches Bergamo, which the other restaurant does not deliver to."""
    doc = restaurant_doc()
    uid = doc["uid"]
    for product in doc["products"]:
        if product["uid"] == f"{uid}-acqua":
            product["name"] = f"Acqua {marker}"
    if far_zone:
        doc["zones"].append(
            {
                "name": "Lontano",
                "subrestaurant_uid": f"{uid}-centro",
                "fee": 900,
                "order_min": 0,
                "radius_km": 60,
            }
        )
    await apply_document(state, {"version": 1, "restaurants": [doc], "places": MILANO_PLACES})
    return RestaurantSetup(
        uid,
        doc["api_keys"][0],
        doc["clients"][0]["client_id"],
        doc["clients"][0]["client_secret"],
        [s["uid"] for s in doc["subrestaurants"]],
        {"version": 1, "restaurants": [doc]},
    )


def coupon_of(r: RestaurantSetup, prefix: str) -> str:
    codes = [c["code"] for c in r.document["restaurants"][0]["coupons"]]
    return next(c for c in codes if c.startswith(prefix))


def gencode_of(r: RestaurantSetup) -> str:
    return str(r.document["restaurants"][0]["coupon_generators"][0]["gencode"])


def restaurant_body(r: RestaurantSetup, when: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client": {
            "first_name": "Anna",
            "last_name": "Rossi",
            "email": "anna@example.com",
            "phone": "02 1234567",
        },
        "dmethod": "0",
        "payment_method": "cash",
        "payment_method_sub": "cash",
        "subrestaurant_uid": r.locations[0],
        "pickup": {"date": when},
        "details": [{"product": {"uid": f"{r.uid}-acqua"}, "quantity": 1}],
    }
    body.update(overrides)
    return body


def delivery_body(r: RestaurantSetup, when: str, place_id: str) -> dict[str, Any]:
    body = restaurant_body(
        r, when, dmethod="1", delivery={"date": when, "address": {"place_id": place_id}}
    )
    del body["pickup"]
    return body


async def _times(client: httpx.AsyncClient, r: RestaurantSetup, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/order/pickup_delivery_times",
        headers=r.client_headers,
        json={"subrestaurant_uid": r.locations[0], **body},
    )
    data: dict[str, Any] = restaurant_ok(response)["data"]
    return data


async def _order_row(state: AppState, **where: Any) -> Order:
    async with state.sessions() as session:
        order = await session.scalar(select(Order).filter_by(**where))
    assert order is not None
    return order


async def build_world(client: httpx.AsyncClient, state: AppState) -> World:
    pa, pb = await make_partner(state), await make_partner(state)
    pa_headers, pb_headers = await login(client, pa), await login(client, pb)

    async def partner_order(
        p: PartnerSetup, headers: dict[str, str], instock: bool, images: list[str] | None = None
    ) -> dict[str, Any]:
        body = order_body(p, [(local_day(3), "0712")], image_uuids=images or [])
        body["customer"]["last_name"] = f"Victim{secrets.token_hex(3)}"
        body["partner_details"]["instock"] = instock
        created: dict[str, Any] = partner_ok(
            await client.post("/partner/order/create", json=body, headers=headers)
        )
        return created

    async def upload(headers: dict[str, str]) -> str:
        response = await client.post(
            "/partner/image/upload", headers=headers, files={"file": ("r.png", PNG, "image/png")}
        )
        return str(partner_ok(response)[0]["id"])

    pb_linked_image = await upload(pb_headers)
    pb_booked = await partner_order(pb, pb_headers, True, [pb_linked_image])
    booked_row = await _order_row(state, id=pb_booked["_id"])

    marker_a, marker_b = f"zqa{secrets.token_hex(4)}", f"zqb{secrets.token_hex(4)}"
    ra = await _restaurant(state, far_zone=False, marker=marker_a)
    rb = await _restaurant(state, far_zone=True, marker=marker_b)
    pickup_at = (await _times(client, rb, dmethod="0"))["pickup_times"][0]["date"]
    delivery_at = (await _times(client, rb, dmethod="1", place_id=BERGAMO))["delivery_times"][0][
        "date"
    ]

    async def restaurant_order(r: RestaurantSetup, **overrides: Any) -> dict[str, Any]:
        response = await client.post(
            "/api/order/create",
            headers=r.client_headers,
            json=restaurant_body(r, pickup_at, **overrides),
        )
        order: dict[str, Any] = restaurant_ok(response)["order"]
        return order

    rb_pending = await restaurant_order(rb)
    token = await client.post(
        "/api/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ra.client_id,
            "client_secret": ra.client_secret,
        },
    )
    assert token.status_code == 200, token.text
    return World(
        client=client,
        state=state,
        pa=pa,
        pb=pb,
        pa_headers=pa_headers,
        pb_headers=pb_headers,
        pa_order=await partner_order(pa, pa_headers, True),
        pb_booked=pb_booked,
        pb_waiting=await partner_order(pb, pb_headers, False),
        pb_booked_uid=booked_row.uid,
        pb_booked_token=booked_row.token,
        pb_image=await upload(pb_headers),
        pb_linked_image=pb_linked_image,
        ra=ra,
        rb=rb,
        rb_marker=marker_b,
        ra_order=await restaurant_order(ra),
        rb_pending=rb_pending,
        rb_confirmed=await restaurant_order(rb, creator="restaurant"),
        rb_pending_id=(await _order_row(state, uid=rb_pending["uid"])).id,
        ra_bearer=token.json()["access_token"],
        pickup_at=pickup_at,
        delivery_at=delivery_at,
    )


def _png() -> bytes:
    out = BytesIO()
    PILImage.new("RGB", (16, 12), "red").save(out, "PNG")
    return out.getvalue()


PNG = _png()


async def snapshot(state: AppState, organization_keys: Sequence[str]) -> dict[str, list[str]]:
    """Every row that belongs to the organizations, following foreign keys from them."""
    rows_of: dict[str, list[dict[str, Any]]] = {}
    async with state.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "organizations":
                where = [table.c.key.in_(organization_keys)]
            else:
                where = [
                    fk.parent.in_({row[fk.column.name] for row in rows_of[referred]})
                    for fk in table.foreign_keys
                    if (referred := fk.column.table.name) in rows_of
                ]
            if not where:
                continue
            result = await session.execute(select(table).where(or_(*where)))
            rows_of[table.name] = [dict(row) for row in result.mappings()]
    return {
        name: sorted(repr(sorted(row.items())) for row in rows) for name, rows in rows_of.items()
    }


# ---------------------------------------------------------------------------------------------
# Cells. Each makes the hostile call(s), checks the refusal, and returns the owner's control.

Control = Callable[[], Awaitable[None]] | None
Cell = Callable[[World], Awaitable[Control]]
Prepare = Callable[[World], Awaitable[None]]
CELLS: dict[str, Cell] = {}
PREPARE: dict[str, Prepare] = {}  # what a cell adds to the world before the first snapshot
COVERED: set[str] = set()  # "METHOD /path" of every route some cell attacks
MISSING_ORDER_ID = "2147483000"


def cell(name: str, *routes: str, prepare: Prepare | None = None) -> Callable[[Cell], Cell]:
    assert routes, name

    def register(fn: Cell) -> Cell:
        assert name not in CELLS
        CELLS[name] = fn
        if prepare is not None:
            PREPARE[name] = prepare
        COVERED.update(routes)
        return fn

    return register


# --- partner ---------------------------------------------------------------------------------


async def _partner_order_call(
    w: World,
    action: str,
    order_id: Any,
    headers: dict[str, str],
) -> httpx.Response:
    if action == "get":
        return await w.client.get(f"/partner/order/{order_id}", headers=headers)
    body = (
        {"datetime": [{"date": local_day(4), "timeslot": "1217"}]} if action == "datetime" else None
    )
    return await w.client.post(f"/partner/order/{order_id}/{action}", headers=headers, json=body)


def _partner_order_cell(action: str, target: str) -> Cell:
    async def run(w: World) -> Control:
        order_id = str(getattr(w, target)["_id"])
        foreign = await _partner_order_call(w, action, order_id, w.pa_headers)
        partner_error(foreign, 404)
        missing = await _partner_order_call(w, action, MISSING_ORDER_ID, w.pa_headers)
        same_as_missing(foreign, missing, order_id, MISSING_ORDER_ID)

        async def control() -> None:
            data = partner_ok(await _partner_order_call(w, action, order_id, w.pb_headers))
            assert data["_id"] == int(order_id)

        return control

    return run


cell("partner/order-get", "GET /partner/order/{order_id}")(_partner_order_cell("get", "pb_booked"))
cell("partner/order-instock", "POST /partner/order/{order_id}/instock")(
    _partner_order_cell("instock", "pb_waiting")
)
cell("partner/order-datetime", "POST /partner/order/{order_id}/datetime")(
    _partner_order_cell("datetime", "pb_booked")
)
cell("partner/order-cancel", "POST /partner/order/{order_id}/cancel")(
    _partner_order_cell("cancel", "pb_booked")
)


async def _partner_list(w: World, headers: dict[str, str], **params: Any) -> list[int]:
    data = partner_ok(await w.client.get("/partner/order/list", params=params, headers=headers))
    return [order["_id"] for order in data]


def _victim_ids(w: World) -> set[int]:
    return {w.pb_booked["_id"], w.pb_waiting["_id"]}


@cell("partner/order-list-filter-store-json", "GET /partner/order/list")
async def cell_partner_order_list_filter_store_json(w: World) -> Control:
    store = w.pb.stores[0]
    foreign = await _partner_list(w, w.pa_headers, filter=json.dumps({"store_ids": [store]}))
    assert foreign == []
    assert foreign == await _partner_list(
        w, w.pa_headers, filter=json.dumps({"store_ids": ["no-such-store"]})
    )

    async def control() -> None:
        assert _victim_ids(w) <= set(
            await _partner_list(w, w.pb_headers, filter=json.dumps({"store_ids": [store]}))
        )

    return control


@cell("partner/order-list-filter-store-brackets", "GET /partner/order/list")
async def cell_partner_order_list_filter_store_brackets(w: World) -> Control:
    store = w.pb.stores[0]
    params = {"filter[store_ids][]": [store, w.pa.stores[0]]}
    assert await _partner_list(w, w.pa_headers, **params) == [w.pa_order["_id"]]

    async def control() -> None:
        assert set(await _partner_list(w, w.pb_headers, **params)) == _victim_ids(w)

    return control


@cell("partner/order-list-query-victim-customer", "GET /partner/order/list")
async def cell_partner_order_list_query_victim_customer(w: World) -> Control:
    async with w.state.sessions() as session:
        victim = await session.get(Order, w.pb_booked["_id"])
    assert victim is not None
    query = victim.customer["last_name"]
    assert await _partner_list(w, w.pa_headers, **{"filter[query]": query}) == []

    async def control() -> None:
        assert await _partner_list(w, w.pb_headers, **{"filter[query]": query}) == [
            w.pb_booked["_id"]
        ]

    return control


@cell("partner/order-list-unfiltered", "GET /partner/order/list")
async def cell_partner_order_list_unfiltered(w: World) -> Control:
    seen = await _partner_list(w, w.pa_headers, limit=100)
    assert seen == [w.pa_order["_id"]]

    async def control() -> None:
        assert set(await _partner_list(w, w.pb_headers, limit=100)) == _victim_ids(w)

    return control


async def _partner_create(
    w: World, headers: dict[str, str], body: dict[str, Any], **extra: str
) -> httpx.Response:
    return await w.client.post("/partner/order/create", json=body, headers={**headers, **extra})


async def _partner_quote(w: World, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await w.client.post("/partner/order/quote", json=body, headers=headers)


def _partner_foreign_store_cell(send: Callable[..., Awaitable[httpx.Response]]) -> Cell:
    async def run(w: World) -> Control:
        body = order_body(w.pa, [(local_day(3), "1217")])

        async def attempt(store: str) -> httpx.Response:
            body["partner_details"]["store_id"] = store
            return await send(w, w.pa_headers, body)

        foreign = await attempt(w.pb.stores[0])
        partner_field_error(foreign, "partner_details.store_id")
        same_as_missing(foreign, await attempt("no-such-store"), w.pb.stores[0], "no-such-store")

        async def control() -> None:
            body["partner_details"]["store_id"] = w.pb.stores[0]
            partner_ok(await send(w, w.pb_headers, body))

        return control

    return run


cell("partner/order-create-foreign-store", "POST /partner/order/create")(
    _partner_foreign_store_cell(_partner_create)
)
cell("partner/order-quote-foreign-store", "POST /partner/order/quote")(
    _partner_foreign_store_cell(_partner_quote)
)


def _partner_image_cell(
    target: str,
    owner_can_link: bool,
    send: Callable[..., Awaitable[httpx.Response]] = _partner_create,
) -> Cell:
    async def run(w: World) -> Control:
        image = getattr(w, target)
        missing = secrets.token_hex(12)

        async def attempt(headers: dict[str, str], image_id: str) -> httpx.Response:
            body = order_body(
                w.pa if headers is w.pa_headers else w.pb,
                [(local_day(3), "1217")],
                image_uuids=[image_id],
            )
            return await send(w, headers, body)

        foreign = await attempt(w.pa_headers, image)
        partner_field_error(foreign, "image_uuids.0", "not_found")
        same_as_missing(foreign, await attempt(w.pa_headers, missing), image, missing)

        async def control() -> None:
            response = await attempt(w.pb_headers, image)
            if owner_can_link:
                partner_ok(response)
            else:  # the owner is told the truth: it is linked already
                partner_field_error(response, "image_uuids.0", "conflict")

        return control

    return run


cell("partner/order-create-foreign-image", "POST /partner/order/create")(
    _partner_image_cell("pb_image", True)
)
cell("partner/order-create-foreign-linked-image", "POST /partner/order/create")(
    _partner_image_cell("pb_linked_image", False)
)
cell("partner/order-quote-foreign-image", "POST /partner/order/quote")(
    _partner_image_cell("pb_image", True, _partner_quote)
)


async def _partner_keyed_order(w: World) -> None:
    key, body = secrets.token_hex(8), order_body(w.pb, [(local_day(3), "1217")])
    first = partner_ok(await _partner_create(w, w.pb_headers, body, **{"Idempotency-Key": key}))
    w.keyed = (key, body, first)


@cell(
    "partner/order-create-foreign-idempotency-key",
    "POST /partner/order/create",
    prepare=_partner_keyed_order,
)
async def cell_partner_order_create_foreign_idempotency_key(w: World) -> Control:
    """The victim's key and exact body must not replay the victim's order to someone else."""
    key, body, first = w.keyed
    foreign = await _partner_create(w, w.pa_headers, body, **{"Idempotency-Key": key})
    assert "Idempotent-Replayed" not in foreign.headers
    partner_field_error(foreign, "partner_details.store_id")

    async def control() -> None:
        again = await _partner_create(w, w.pb_headers, body, **{"Idempotency-Key": key})
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert partner_ok(again) == first

    return control


@cell("partner/store-list", "GET /partner/store/list")
async def cell_partner_store_list(w: World) -> Control:
    stores = partner_ok(await w.client.get("/partner/store/list", headers=w.pa_headers))
    assert [s["store_id"] for s in stores] == w.pa.stores

    async def control() -> None:
        own = partner_ok(await w.client.get("/partner/store/list", headers=w.pb_headers))
        assert [s["store_id"] for s in own] == w.pb.stores

    return control


# --- restaurant ------------------------------------------------------------------------------


async def _orders_get(w: World, headers: dict[str, str], uid: str) -> httpx.Response:
    return await w.client.get("/api/orders/get", headers=headers, params={"uid": uid})


@cell("restaurant/orders-get", "GET /api/orders/get")
async def cell_restaurant_orders_get(w: World) -> Control:
    uid, missing = w.rb_pending["uid"], secrets.token_hex(12)
    foreign = await _orders_get(w, w.ra.key_headers, uid)
    restaurant_error(foreign, "NOT_FOUND")
    same_as_missing(foreign, await _orders_get(w, w.ra.key_headers, missing), uid, missing)

    async def control() -> None:
        assert restaurant_ok(await _orders_get(w, w.rb.key_headers, uid))["order"]["uid"] == uid

    return control


@cell("restaurant/orders-list", "GET /api/orders/list")
async def cell_restaurant_orders_list(w: World) -> Control:
    body = restaurant_ok(
        await w.client.get("/api/orders/list", headers=w.ra.key_headers, params={"page": 1})
    )
    assert [o["uid"] for o in body["orders"]] == [w.ra_order["uid"]]
    assert body["total_count"] == 1

    async def control() -> None:
        own = restaurant_ok(
            await w.client.get("/api/orders/list", headers=w.rb.key_headers, params={"page": 1})
        )
        assert {o["uid"] for o in own["orders"]} == {w.rb_pending["uid"], w.rb_confirmed["uid"]}

    return control


def _confirmation_cell(action: str, target: str) -> Cell:
    async def run(w: World) -> Control:
        order = getattr(w, target)
        missing = secrets.token_hex(12)

        async def attempt(headers: dict[str, str], uid: str) -> httpx.Response:
            return await w.client.post(
                f"/api/order/{action}",
                headers=headers,
                params={"uid": uid, "token": order["token"]},
            )

        foreign = await attempt(w.ra.key_headers, order["uid"])
        restaurant_error(foreign, "NOT_FOUND")
        same_as_missing(foreign, await attempt(w.ra.key_headers, missing), order["uid"], missing)

        async def control() -> None:
            confirmation = restaurant_ok(await attempt(w.rb.key_headers, order["uid"]))["order"][
                "confirmation"
            ]
            assert confirmation["confirmed" if action == "confirm" else "closed"] is True

        return control

    return run


cell("restaurant/order-confirm", "POST /api/order/confirm")(
    _confirmation_cell("confirm", "rb_pending")
)
cell("restaurant/order-close", "POST /api/order/close")(_confirmation_cell("close", "rb_confirmed"))


async def _restaurant_create(
    w: World, r: RestaurantSetup, body: dict[str, Any], **extra: str
) -> httpx.Response:
    return await w.client.post(
        "/api/order/create", headers={**r.client_headers, **extra}, json=body
    )


async def _restaurant_quote(
    w: World, r: RestaurantSetup, body: dict[str, Any], **extra: str
) -> httpx.Response:
    return await w.client.post("/api/order/quote", headers={**r.client_headers, **extra}, json=body)


def _create_cell(
    code: str,
    build: Callable[[World, RestaurantSetup, str], dict[str, Any]],
    foreign: Callable[[World], str],
    missing: str,
    send: Callable[..., Awaitable[httpx.Response]] = _restaurant_create,
) -> Cell:
    """An order (or quote) of restaurant A naming one thing of restaurant B (``build(w, r,
    value)``)."""

    async def run(w: World) -> Control:
        value = foreign(w)
        attempt = await send(w, w.ra, build(w, w.ra, value))
        message = restaurant_error(attempt, code)
        assert w.rb.uid not in message.replace(value, "<ID>")
        same_as_missing(attempt, await send(w, w.ra, build(w, w.ra, missing)), value, missing)

        async def control() -> None:
            answered = restaurant_ok(await send(w, w.rb, build(w, w.rb, value)))
            assert answered["order"]["subrestaurant_uid" if send is _restaurant_quote else "uid"]

        return control

    return run


def _with_option(w: World, r: RestaurantSetup, option: str) -> dict[str, Any]:
    return restaurant_body(
        r,
        w.pickup_at,
        details=[
            {
                "product": {"uid": f"{r.uid}-margherita"},
                "quantity": 1,
                "options": [
                    {"uid": f"{r.uid}-size", "values": [{"uid": "normale"}]},
                    {"uid": option, "values": [{"uid": "mozz"}]},
                ],
            }
        ],
    )


# One thing of restaurant B named in an order of restaurant A: (cell, code, build, foreign,
# missing). A create and a quote of the same body must refuse it alike.
_FOREIGN_IN_ORDER: list[
    tuple[
        str,
        str,
        Callable[[World, RestaurantSetup, str], dict[str, Any]],
        Callable[[World], str],
        str,
    ]
] = [
    (
        "foreign-subrestaurant",
        "SUBRESTAURANT_NOT_FOUND",
        lambda w, r, value: restaurant_body(r, w.pickup_at, subrestaurant_uid=value),
        lambda w: w.rb.locations[0],
        "resto-nowhere-centro",
    ),
    (
        "foreign-product",
        "PRODUCT_NOT_FOUND",
        lambda w, r, value: restaurant_body(
            r, w.pickup_at, details=[{"product": {"uid": value}, "quantity": 1}]
        ),
        lambda w: f"{w.rb.uid}-acqua",
        "resto-nowhere-acqua",
    ),
    (
        "foreign-option",
        "OPTION_NOT_FOUND",
        _with_option,
        lambda w: f"{w.rb.uid}-extra",
        "resto-nowhere-extra",
    ),
    (
        "foreign-coupon",
        "COUPON_ERROR",
        lambda w, r, value: restaurant_body(r, w.pickup_at, coupon={"code": value}),
        lambda w: coupon_of(w.rb, "LAST"),
        "NOSUCHCOUPON",
    ),
    (
        "place-only-in-foreign-zone",
        "INVALID_ADDRESS",
        lambda w, r, value: delivery_body(r, w.delivery_at, value),
        lambda w: BERGAMO,
        "no-such-place",
    ),
]
for _name, _code, _build, _foreign, _missing in _FOREIGN_IN_ORDER:
    cell(f"restaurant/order-create-{_name}", "POST /api/order/create")(
        _create_cell(_code, _build, _foreign, _missing)
    )
    cell(f"restaurant/order-quote-{_name}", "POST /api/order/quote")(
        _create_cell(_code, _build, _foreign, _missing, _restaurant_quote)
    )


async def _restaurant_keyed_order(w: World) -> None:
    key, body = secrets.token_hex(8), restaurant_body(w.rb, w.pickup_at)
    first = restaurant_ok(await _restaurant_create(w, w.rb, body, **{"Idempotency-Key": key}))
    w.keyed = (key, body, first)


@cell(
    "restaurant/order-create-foreign-idempotency-key",
    "POST /api/order/create",
    prepare=_restaurant_keyed_order,
)
async def cell_restaurant_order_create_foreign_idempotency_key(w: World) -> Control:
    key, body, first = w.keyed
    foreign = await _restaurant_create(w, w.ra, body, **{"Idempotency-Key": key})
    assert "Idempotent-Replayed" not in foreign.headers
    restaurant_error(foreign, "SUBRESTAURANT_NOT_FOUND")

    async def control() -> None:
        again = await _restaurant_create(w, w.rb, body, **{"Idempotency-Key": key})
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert restaurant_ok(again) == first

    return control


@cell("restaurant/validate-address-only-in-foreign-zone", "POST /api/order/validate_address")
async def cell_restaurant_validate_address_only_in_foreign_zone(w: World) -> Control:
    async def attempt(r: RestaurantSetup, text: str) -> httpx.Response:
        return await w.client.post(
            "/api/order/validate_address", headers=r.client_headers, json={"address": text}
        )

    text, missing = "Piazza del Duomo 1, Bergamo", "Via Inesistente 99, Atlantide"
    foreign = await attempt(w.ra, text)
    restaurant_error(foreign, "INVALID_ADDRESS")
    same_as_missing(foreign, await attempt(w.ra, missing), text, missing)

    async def control() -> None:
        data = restaurant_ok(await attempt(w.rb, text))["data"]
        assert data["subrestaurant_uid"] == w.rb.locations[0]

    return control


async def _times_call(w: World, r: RestaurantSetup, **body: Any) -> httpx.Response:
    return await w.client.post(
        "/api/order/pickup_delivery_times", headers=r.client_headers, json=body
    )


@cell("restaurant/pickup-times-foreign-subrestaurant", "POST /api/order/pickup_delivery_times")
async def cell_restaurant_pickup_times_foreign_subrestaurant(w: World) -> Control:
    location, missing = w.rb.locations[0], "resto-nowhere-centro"
    foreign = await _times_call(w, w.ra, dmethod="0", subrestaurant_uid=location)
    restaurant_error(foreign, "SUBRESTAURANT_NOT_FOUND")
    same_as_missing(
        foreign,
        await _times_call(w, w.ra, dmethod="0", subrestaurant_uid=missing),
        location,
        missing,
    )

    async def control() -> None:
        data = restaurant_ok(await _times_call(w, w.rb, dmethod="0", subrestaurant_uid=location))[
            "data"
        ]
        assert data["pickup_times"]

    return control


@cell(
    "restaurant/delivery-times-place-only-in-foreign-zone", "POST /api/order/pickup_delivery_times"
)
async def cell_restaurant_delivery_times_place_only_in_foreign_zone(w: World) -> Control:
    foreign = await _times_call(
        w, w.ra, dmethod="1", subrestaurant_uid=w.ra.locations[0], place_id=BERGAMO
    )
    restaurant_error(foreign, "INVALID_ADDRESS")
    same_as_missing(
        foreign,
        await _times_call(
            w, w.ra, dmethod="1", subrestaurant_uid=w.ra.locations[0], place_id="no-such-place"
        ),
        BERGAMO,
        "no-such-place",
    )

    async def control() -> None:
        data = restaurant_ok(
            await _times_call(
                w, w.rb, dmethod="1", subrestaurant_uid=w.rb.locations[0], place_id=BERGAMO
            )
        )
        assert data["data"]["delivery_times"]

    return control


def _menu_item_cell(path: str, code: str, suffix: str) -> Cell:
    async def run(w: World) -> Control:
        uid, missing = f"{w.rb.uid}-{suffix}", f"resto-nowhere-{suffix}"

        async def attempt(r: RestaurantSetup, value: str) -> httpx.Response:
            return await w.client.get(
                f"/api/menu/{path}", headers=r.key_headers, params={"uid": value, "page": 1}
            )

        foreign = await attempt(w.ra, uid)
        restaurant_error(foreign, code)
        same_as_missing(foreign, await attempt(w.ra, missing), uid, missing)

        async def control() -> None:
            assert restaurant_ok(await attempt(w.rb, uid))[path]["uid"] == uid

        return control

    return run


cell("restaurant/menu-category", "GET /api/menu/category")(
    _menu_item_cell("category", "CATEGORY_NOT_FOUND", "pizze")
)
cell("restaurant/menu-product", "GET /api/menu/product")(
    _menu_item_cell("product", "PRODUCT_NOT_FOUND", "margherita")
)


async def _products(w: World, r: RestaurantSetup, **params: Any) -> dict[str, Any]:
    return restaurant_ok(
        await w.client.get(
            "/api/menu/products", headers=r.key_headers, params={"page": 1, **params}
        )
    )


@cell("restaurant/menu-products-foreign-category", "GET /api/menu/products")
async def cell_restaurant_menu_products_foreign_category(w: World) -> Control:
    catuid = f"{w.rb.uid}-pizze"
    foreign = await _products(w, w.ra, catuid=catuid)
    assert (foreign["products"], foreign["total_count"]) == ([], 0)
    assert foreign == await _products(w, w.ra, catuid="resto-nowhere-pizze")

    async def control() -> None:
        assert (await _products(w, w.rb, catuid=catuid))["total_count"] >= 1

    return control


@cell("restaurant/menu-products-search-foreign-name", "GET /api/menu/products")
async def cell_restaurant_menu_products_search_foreign_name(w: World) -> Control:
    foreign = await _products(w, w.ra, q=w.rb_marker)
    assert (foreign["products"], foreign["total_count"]) == ([], 0)

    async def control() -> None:
        own = await _products(w, w.rb, q=w.rb_marker)
        assert [p["uid"] for p in own["products"]] == [f"{w.rb.uid}-acqua"]

    return control


@cell("restaurant/menu-listings", "GET /api/menu/categories", "GET /api/menu/products")
async def cell_restaurant_menu_listings(w: World) -> Control:
    categories = restaurant_ok(
        await w.client.get(
            "/api/menu/categories", headers=w.ra.key_headers, params={"page": 1, "visible": 0}
        )
    )
    products = await _products(w, w.ra, visible=0)
    uids = [c["uid"] for c in categories["categories"]] + [p["uid"] for p in products["products"]]
    assert uids and all(uid.startswith(f"{w.ra.uid}-") for uid in uids), uids
    return None


@cell("restaurant/subrestaurants", "GET /api/account/subrestaurants")
async def cell_restaurant_subrestaurants(w: World) -> Control:
    listed = restaurant_ok(
        await w.client.get("/api/account/subrestaurants", headers=w.ra.key_headers)
    )
    assert [s["uid"] for s in listed["subrestaurants"]] == sorted(w.ra.locations)
    return None


@cell("restaurant/coupon-apply", "POST /api/coupon/apply")
async def cell_restaurant_coupon_apply(w: World) -> Control:
    code, missing = coupon_of(w.rb, "WELCOME"), "NOSUCHCOUPON"

    async def attempt(r: RestaurantSetup, value: str) -> httpx.Response:
        return await w.client.post(
            "/api/coupon/apply", headers=r.client_headers, params={"code": value, "total": 50}
        )

    foreign = await attempt(w.ra, code)
    restaurant_error(foreign, "NOT_FOUND")
    same_as_missing(foreign, await attempt(w.ra, missing), code, missing)

    async def control() -> None:
        assert restaurant_ok(await attempt(w.rb, code))["coupon"]["code"] == code

    return control


@cell("restaurant/coupon-generate", "POST /api/coupon/generate")
async def cell_restaurant_coupon_generate(w: World) -> Control:
    gencode, missing = gencode_of(w.rb), "NOSUCHGEN"

    async def attempt(r: RestaurantSetup, value: str) -> httpx.Response:
        return await w.client.post(
            "/api/coupon/generate", headers=r.client_headers, params={"gencode": value}
        )

    foreign = await attempt(w.ra, gencode)
    restaurant_error(foreign, "NOT_FOUND")
    same_as_missing(foreign, await attempt(w.ra, missing), gencode, missing)

    async def control() -> None:
        code = restaurant_ok(await attempt(w.rb, gencode))["coupon"]["code"]
        assert code.startswith(f"{gencode}-")

    return control


@cell("restaurant/restuid-of-another-restaurant", "GET /api/orders/list", "POST /api/coupon/apply")
async def cell_restaurant_restuid_of_another_restaurant(w: World) -> Control:
    for path, method in (("/api/orders/list", "GET"), ("/api/coupon/apply", "POST")):
        response = await w.client.request(
            method,
            path,
            headers=w.ra.key_headers,
            params={
                "restuid": w.rb.uid,
                "page": 1,
                "code": coupon_of(w.rb, "WELCOME"),
                "total": 50,
            },
        )
        restaurant_error(response, "UNAUTHORIZED", 403)

    async def control() -> None:
        restaurant_ok(
            await w.client.get(
                "/api/orders/list",
                headers=w.rb.key_headers,
                params={"restuid": w.rb.uid, "page": 1},
            )
        )

    return control


def _import_body(w: World, **product: Any) -> dict[str, Any]:
    return {
        "update_mode": "replace",
        "categories": [{"ext_id": f"{w.rb.uid}-pizze", "name": "Rubate"}],
        "products": [
            {
                "ext_id": f"{w.rb.uid}-margherita",
                "category_ext_id": f"{w.rb.uid}-pizze",
                "name": "Margherita rubata",
                "price": 1,
                **product,
            }
        ],
    }


async def _import(w: World, r: RestaurantSetup, body: dict[str, Any]) -> httpx.Response:
    return await w.client.post("/api/menu/import", headers=r.client_headers, json=body)


@cell("restaurant/menu-import-foreign-subrestaurant", "POST /api/menu/import")
async def cell_restaurant_menu_import_foreign_subrestaurant(w: World) -> Control:
    location, missing = w.rb.locations[0], "resto-nowhere-centro"
    foreign = await _import(w, w.ra, _import_body(w, subrestaurant_uids=[location]))
    assert "products.0.subrestaurant_uids.0" in restaurant_error(foreign, "VALIDATION_ERROR")
    same_as_missing(
        foreign,
        await _import(w, w.ra, _import_body(w, subrestaurant_uids=[missing])),
        location,
        missing,
    )

    async def control() -> None:
        restaurant_ok(await _import(w, w.rb, _import_body(w, subrestaurant_uids=[location])))

    return control


@cell("restaurant/menu-import-with-the-victims-keys", "POST /api/menu/import")
async def cell_restaurant_menu_import_with_the_victims_keys(w: World) -> Control:
    """A replace import keyed exactly like the victim's menu changes only the importer's."""
    report = restaurant_ok(await _import(w, w.ra, _import_body(w)))["data"]
    assert report["created"] >= 2 and report["hidden"] >= 1, report

    async def control() -> None:
        product = restaurant_ok(
            await w.client.get(
                "/api/menu/product",
                headers=w.rb.key_headers,
                params={"uid": f"{w.rb.uid}-margherita"},
            )
        )["product"]
        assert (product["name"], product["price"]) == ("Margherita", 7.5)

    return control


@cell(
    "restaurant/client-id-with-another-restaurants-secret",
    "GET /api/orders/list",
    "POST /api/oauth/token",
)
async def cell_restaurant_client_id_with_another_restaurants_secret(w: World) -> Control:
    mixed = {"X-Client-Id": w.rb.client_id, "X-Client-Secret": w.ra.client_secret}
    response = await w.client.get("/api/orders/list", headers=mixed, params={"page": 1})
    restaurant_error(response, "INVALID_AUTH", 401)
    token = await w.client.post(
        "/api/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": w.rb.client_id,
            "client_secret": w.ra.client_secret,
        },
    )
    assert token.status_code == 401 and token.json()["error"] == "invalid_client", token.text
    return None


# --- across the dialects ---------------------------------------------------------------------


@cell("cross/partner-token-on-restaurant-api", "GET /api/orders/list")
async def cell_cross_partner_token_on_restaurant_api(w: World) -> Control:
    token = w.pa_headers["token"]
    for headers in ({"token": token}, {"Authorization": f"Bearer {token}"}, {"X-Api-Key": token}):
        response = await w.client.get("/api/orders/list", headers=headers, params={"page": 1})
        assert response.status_code == 401, response.text
        assert response.json()["success"] is False
    return None


@cell("cross/partner-login-on-oauth-token", "POST /api/oauth/token")
async def cell_cross_partner_login_on_oauth_token(w: World) -> Control:
    response = await w.client.post(
        "/api/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": w.pa.login,
            "client_secret": w.pa.password,
        },
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    return None


@cell("cross/restaurant-credentials-as-partner-token", "GET /partner/order/list")
async def cell_cross_restaurant_credentials_as_partner_token(w: World) -> Control:
    for credential in (w.ra.api_key, w.ra.client_secret, w.ra_bearer):
        response = await w.client.get("/partner/order/list", headers={"token": credential})
        assert response.json() == {
            "name": "UnAuthorizedError",
            "message": "Unauthorized",
            "code": 401,
            "type": "NO_RIGHTS",
            "statusCode": 401,
            "status": "error",
            "data": None,
        }
    return None


@cell("cross/restaurant-client-on-partner-authorize", "POST /partner/auth/authorize")
async def cell_cross_restaurant_client_on_partner_authorize(w: World) -> Control:
    response = await w.client.post(
        "/partner/auth/authorize", json={"login": w.ra.client_id, "password": w.ra.client_secret}
    )
    partner_error(response, 401)
    return None


@cell(
    "cross/partner-get-restaurant-order",
    "GET /partner/order/{order_id}",
    "POST /partner/order/{order_id}/cancel",
    "POST /partner/order/{order_id}/instock",
)
async def cell_cross_partner_get_restaurant_order(w: World) -> Control:
    order_id = str(w.rb_pending_id)
    for action in ("get", "cancel", "instock"):
        foreign = await _partner_order_call(w, action, order_id, w.pa_headers)
        partner_error(foreign, 404)
        same_as_missing(
            foreign,
            await _partner_order_call(w, action, MISSING_ORDER_ID, w.pa_headers),
            order_id,
            MISSING_ORDER_ID,
        )
    return None


@cell("cross/partner-create-at-restaurant-location", "POST /partner/order/create")
async def cell_cross_partner_create_at_restaurant_location(w: World) -> Control:
    body = order_body(w.pa, [(local_day(3), "1217")])
    body["partner_details"]["store_id"] = w.rb.locations[0]
    partner_field_error(await _partner_create(w, w.pa_headers, body), "partner_details.store_id")
    return None


@cell("cross/partner-free-slots-of-restaurant-location", "GET /partner/slots/free")
async def cell_cross_partner_free_slots_of_restaurant_location(w: World) -> Control:
    async def attempt(store: str) -> httpx.Response:
        return await w.client.get("/partner/slots/free", params={"store_id": store})

    location, missing = w.rb.locations[0], "no-such-store"
    foreign = await attempt(location)
    partner_field_error(foreign, "store_id")
    same_as_missing(foreign, await attempt(missing), location, missing)
    return None


@cell("cross/partner-item-search-finds-no-restaurant-product", "GET /partner/item/find")
async def cell_cross_partner_item_search_finds_no_restaurant_product(w: World) -> Control:
    found = partner_ok(
        await w.client.get("/partner/item/find", headers=w.pa_headers, params={"name": w.rb_marker})
    )
    assert found == []

    async def control() -> None:
        assert (await _products(w, w.rb, q=w.rb_marker))["total_count"] == 1

    return control


@cell("cross/restaurant-get-partner-order", "GET /api/orders/get", "POST /api/order/confirm")
async def cell_cross_restaurant_get_partner_order(w: World) -> Control:
    uid = w.pb_booked_uid
    foreign = await _orders_get(w, w.ra.key_headers, uid)
    restaurant_error(foreign, "NOT_FOUND")
    confirm = await w.client.post(
        "/api/order/confirm",
        headers=w.ra.key_headers,
        params={"uid": uid, "token": w.pb_booked_token},
    )
    restaurant_error(confirm, "NOT_FOUND")
    return None


@cell(
    "cross/restaurant-create-at-partner-store",
    "POST /api/order/create",
    "POST /api/order/pickup_delivery_times",
)
async def cell_cross_restaurant_create_at_partner_store(w: World) -> Control:
    store = w.pb.stores[0]
    created = await _restaurant_create(
        w, w.ra, restaurant_body(w.ra, w.pickup_at, subrestaurant_uid=store)
    )
    restaurant_error(created, "SUBRESTAURANT_NOT_FOUND")
    times = await _times_call(w, w.ra, dmethod="0", subrestaurant_uid=store)
    restaurant_error(times, "SUBRESTAURANT_NOT_FOUND")
    return None


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CELLS))
async def test_isolation(name: str, client: httpx.AsyncClient, state: AppState) -> None:
    world = await build_world(client, state)
    if name in PREPARE:
        await PREPARE[name](world)
    before = await snapshot(state, world.victims)
    assert before["orders"] and before["coupons"] and before["slot_usage"] and before["images"]
    control = await CELLS[name](world)
    after = await snapshot(state, world.victims)
    changed = {
        table for table in before.keys() | after.keys() if before.get(table) != after.get(table)
    }
    assert not changed, f"the victims' data changed in {sorted(changed)}"
    if control is not None:
        await control()


# Routes no cell attacks, and why.
EXEMPT = {
    "POST /partner/auth/revoke": "acts only on the token it is called with",
    "GET /partner/item/list": "the marketplace catalog is shared by every partner by design",
    "POST /partner/image/upload": "creates an image of the caller; linking is what is guarded",
    "GET /partner/images/{name}": "an unguessable capability URL, readable by design",
}


def test_every_route_is_attacked_or_exempt(app: FastAPI) -> None:
    """A new endpoint fails this until a cell attacks it or it is exempted with a reason."""
    routes = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(("/partner/", "/api/"))
        for method in operations
    }
    assert "POST /partner/order/create" in routes and "GET /api/orders/get" in routes
    assert routes - COVERED - EXEMPT.keys() == set()
    assert (COVERED | EXEMPT.keys()) - routes == set()
