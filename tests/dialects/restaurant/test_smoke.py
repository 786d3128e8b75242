from __future__ import annotations

import httpx
from tests.factories import MILANO_PLACES, make_restaurant

from orderdesk.http.state import AppState


async def test_pickup_order_with_options_end_to_end(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state, places=MILANO_PLACES)
    times = await client.post(
        "/api/order/pickup_delivery_times",
        headers=r.client_headers,
        json={"dmethod": "0", "subrestaurant_uid": r.locations[0]},
    )
    assert times.json()["success"], times.text
    first = times.json()["data"]["pickup_times"][0]["date"]
    body = {
        "client": {
            "first_name": "Anna",
            "last_name": "Rossi",
            "email": "anna@example.com",
            "phone": "02 1234567",
        },
        "dmethod": "0",
        "payment_method": "cash",
        "payment_method_sub": "pos",
        "subrestaurant_uid": r.locations[0],
        "pickup": {"date": first},
        "details": [
            {
                "product": {"uid": f"{r.uid}-margherita"},
                "quantity": 2,
                "options": [
                    {"uid": f"{r.uid}-size", "values": [{"uid": "maxi"}]},
                    {"uid": f"{r.uid}-extra", "values": [{"uid": "mozz", "quantity": 2}]},
                ],
            }
        ],
    }
    created = await client.post("/api/order/create", headers=r.client_headers, json=body)
    assert created.json()["success"], created.text
    order = created.json()["order"]
    assert order["total"] == 2 * (7.5 + 3 + 2)
    assert order["confirmed"] is False
    got = await client.get("/api/orders/get", headers=r.key_headers, params={"uid": order["uid"]})
    assert got.json()["order"]["confirmation"]["countdown_time"] == 300
    confirmed = await client.post(
        "/api/order/confirm",
        headers=r.key_headers,
        params={"uid": order["uid"], "token": order["token"]},
    )
    assert confirmed.json()["success"], confirmed.text
    delivery = await client.post(
        "/api/order/validate_address",
        headers=r.client_headers,
        json={"address": "via Dante 10, Milano"},
    )
    assert delivery.json()["data"]["delivery_fee"] == 2.5, delivery.text
