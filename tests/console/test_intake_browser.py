"""Busy mode and sold out in Chromium against a real server (SQLite and PostgreSQL): an
operator pauses a store and the partner API refuses an order there, resumes it and the order is
taken; staff of a restaurant mark a product sold out and an order for it is refused, then switch
it back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.console.support import ConsoleServer, sign_in

pytestmark = pytest.mark.processes


async def _partner_create(console_server: ConsoleServer) -> httpx.Response:
    async with httpx.AsyncClient(base_url=console_server.base_url, timeout=30) as client:
        return await client.post(
            "/partner/order/create",
            json=console_server.partner_order_body(days_ahead=3),
            headers=await console_server.partner_headers(),
        )


async def _restaurant_create(console_server: ConsoleServer, restaurant: str) -> dict[str, Any]:
    r = console_server.restaurants[restaurant]
    body = {
        "client": {
            "first_name": "Anna",
            "last_name": "Rossi",
            "email": "anna@example.com",
            "phone": "02 1234567",
        },
        "dmethod": "0",
        "payment_method": "cash",
        "payment_method_sub": "cash",
        "subrestaurant_uid": r.location,
        "pickup": {"date": await console_server.pickup_time(restaurant)},
        "details": [{"product": {"uid": r.products[0]}, "quantity": 1}],
    }
    async with httpx.AsyncClient(base_url=console_server.base_url, timeout=30) as client:
        answer = await client.post("/api/order/create", headers=r.client_headers, json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_a_paused_store_refuses_orders_until_resumed(
    console_server: ConsoleServer, page: Any
) -> None:
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    await page.goto("/console/intake")
    await page.get_by_role("link", name="Harbor Furniture · Harbor Rīga").click()
    await page.locator("select[name=duration]").select_option("30")
    await page.get_by_role("button", name="Pause").click()
    await page.locator("#pause-status", has_text="paused until").wait_for()

    refused = await _partner_create(console_server)
    assert refused.status_code == 422, refused.text
    assert refused.json()["data"][0]["field"] == "partner_details.store_id"

    await page.get_by_role("button", name="Resume").click()
    await page.locator("#pause-status", has_text="taking orders").wait_for()
    taken = await _partner_create(console_server)
    assert taken.status_code == 200, taken.text


async def test_a_product_sold_out_is_refused_until_switched_back(
    console_server: ConsoleServer, page: Any
) -> None:
    staff = console_server.staff["sole"]
    await sign_in(page, staff.email, staff.password)
    await page.goto("/console/intake")
    row = page.locator("tr[data-product]", has_text="Margherita")
    await row.get_by_role("button", name="Sold out").click()
    row = page.locator("tr[data-product]", has_text="Margherita")
    await row.get_by_text("sold out until switched back").wait_for()

    refused = await _restaurant_create(console_server, "sole")
    assert refused["success"] is False and refused["error"] == "PRODUCT_NOT_AVAILABLE", refused

    await row.get_by_role("button", name="Available again").click()
    await (
        page.locator("tr[data-product]", has_text="Margherita").get_by_text("available").wait_for()
    )
    taken = await _restaurant_create(console_server, "sole")
    assert taken["success"] is True, taken
