"""Assertions on the restaurant API's exact envelopes, and small helpers shared by its tests."""

from __future__ import annotations

from typing import Any

import httpx
from tests.factories import RestaurantSetup, apply_document

from orderdesk.http.state import AppState


def ok(response: httpx.Response, *payload: str) -> dict[str, Any]:
    """A success envelope: HTTP 200, ``success`` true, exactly the ``payload`` keys, no error."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is True, body
    assert set(body) == {"success", *payload}, body
    return body


def failed(
    response: httpx.Response, code: str, *, status: int = 200, names: str | None = None
) -> str:
    """A failure envelope with exactly ``success``/``error``/``message``; returns the message.

    ``names``: what the message must mention (the field, scope or parameter at fault).
    """
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error", "message"}, body
    assert body["success"] is False
    assert body["error"] == code, body
    message = body["message"]
    assert isinstance(message, str) and message
    if names is not None:
        assert names in message, message
    return message


async def restaurant_from(state: AppState, doc: dict[str, Any]) -> RestaurantSetup:
    """Apply a (possibly edited) ``restaurant_doc`` and describe it like ``make_restaurant``."""
    document: dict[str, Any] = {"version": 1, "restaurants": [doc]}
    await apply_document(state, document)
    return RestaurantSetup(
        doc["uid"],
        doc["api_keys"][0],
        doc["clients"][0]["client_id"],
        doc["clients"][0]["client_secret"],
        [s["uid"] for s in doc["subrestaurants"]],
        document,
    )


def client_with(uid: str, *scopes: str, name: str = "limited") -> dict[str, Any]:
    """A client section for restaurant ``uid``'s document with only ``scopes``."""
    return {
        "client_id": f"{uid}-{name}",
        "client_secret": f"{name}-secret-0123456789",
        "scopes": list(scopes),
    }


def client_headers(client: dict[str, Any]) -> dict[str, str]:
    return {"X-Client-Id": client["client_id"], "X-Client-Secret": client["client_secret"]}


async def first_pickup_time(client: httpx.AsyncClient, r: RestaurantSetup) -> str:
    times = await client.post(
        "/api/order/pickup_delivery_times",
        headers=r.client_headers,
        json={"dmethod": "0", "subrestaurant_uid": r.locations[0]},
    )
    assert times.json()["success"], times.text
    return str(times.json()["data"]["pickup_times"][0]["date"])


async def place_pickup_order(
    client: httpx.AsyncClient,
    r: RestaurantSetup,
    *,
    details: list[dict[str, Any]] | None = None,
    email: str = "anna@example.com",
    **extra: Any,
) -> dict[str, Any]:
    """A cash pickup order at the first location (one Margherita unless ``details``)."""
    body: dict[str, Any] = {
        "client": {
            "first_name": "Anna",
            "last_name": "Rossi",
            "email": email,
            "phone": "02 1234567",
        },
        "dmethod": "0",
        "payment_method": "cash",
        "payment_method_sub": "cash",
        "subrestaurant_uid": r.locations[0],
        "pickup": {"date": await first_pickup_time(client, r)},
        "details": details
        or [
            {
                "product": {"uid": f"{r.uid}-margherita"},
                "quantity": 1,
                "options": [{"uid": f"{r.uid}-size", "values": [{"uid": "normale"}]}],
            }
        ],
        **extra,
    }
    created = await client.post("/api/order/create", headers=r.client_headers, json=body)
    order: dict[str, Any] = ok(created, "order")["order"]
    return order
