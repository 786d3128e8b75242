from __future__ import annotations

from datetime import timedelta

import httpx
from tests.factories import login, make_partner, order_body

from orderdesk.http.state import AppState


async def test_create_and_read_order(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    day = (state.now() + timedelta(days=2)).date().isoformat()
    r = await client.post(
        "/partner/order/create", json=order_body(partner, [(day, "1217")]), headers=headers
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["_status"] == "open"
    r = await client.get(f"/partner/order/{data['_id']}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["booked"] == {"date": day, "timeslot": "1217"}
