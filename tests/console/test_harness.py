"""The browser tests' own fixtures do what scenario tests rely on: orders sent through both APIs
start where a console shows them waiting, and an operator added later can sign in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.console.support import ConsoleServer, sign_in

pytestmark = pytest.mark.processes


async def test_partner_order_waits_for_a_master(console_server: ConsoleServer) -> None:
    created = await console_server.partner_order(timeslot="0712", days_ahead=3)
    assert (created["_status"], created["_substatus"]) == ("open", "awaiting_master_request")
    headers = await console_server.partner_headers()
    async with httpx.AsyncClient(base_url=console_server.base_url, timeout=30) as client:
        read = await client.get(f"/partner/order/{created['_id']}", headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["data"]["datetime"] == [
        {"date": console_server.partner_day(3), "timeslot": "0712"}
    ]


@pytest.mark.parametrize("restaurant", ["luna", "sole"])
async def test_restaurant_order_awaits_confirmation_at_its_location(
    console_server: ConsoleServer, restaurant: str
) -> None:
    created = await console_server.restaurant_order(restaurant, quantity=2, product=1)
    assert created["confirmed"] is False
    assert created["total"] == 18.0  # two Diavola at 9.00, major units on this wire
    r = console_server.restaurants[restaurant]
    async with httpx.AsyncClient(base_url=console_server.base_url, timeout=30) as client:
        read = await client.get(
            "/api/orders/get", headers=r.key_headers, params={"uid": created["uid"]}
        )
    assert read.status_code == 200, read.text
    order = read.json()["order"]
    assert order["subrestaurant_uid"] == r.location


async def test_an_operator_created_later_signs_in(console_server: ConsoleServer, page: Any) -> None:
    dispatcher = await console_server.create_operator("dispatcher", name="Dee Spatcher")
    await sign_in(page, dispatcher.email, dispatcher.password)
    assert urlsplit(page.url).path == "/console/"
