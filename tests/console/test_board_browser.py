"""The orders board and an order's page in Chromium against a real server (SQLite and
PostgreSQL): a new order appears without a reload, a confirmation stops the countdown, a
reschedule, two operators on one order (the second is refused with the order as it is now),
and staff kept to their own restaurant."""

from __future__ import annotations

import re
import secrets
from typing import Any

from tests.console.support import TIMEOUT_MS, ConsoleServer, NewContext, sign_in


async def _order_id_of(page: Any, first_name: str) -> int:
    """The id of the board's row whose customer is ``first_name`` (restaurant answers name
    orders by uid; the console by id)."""
    row = page.locator("tr[data-order-id]", has_text=first_name)
    await row.wait_for(timeout=TIMEOUT_MS)
    return int(await row.get_attribute("data-order-id"))


async def test_a_new_order_appears_on_the_board_without_a_reload(
    console_server: ConsoleServer, page: Any
) -> None:
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    await page.evaluate("window.notReloaded = true")
    order = await console_server.partner_order(
        customer={
            "phone_number": "+371 20 000 001",
            "first_name": f"Live{secrets.token_hex(3)}",
            "last_name": "Ozola",
        }
    )
    row = page.locator(f'tr[data-order-id="{order["_id"]}"]')
    await row.wait_for(timeout=TIMEOUT_MS)
    assert await page.evaluate("window.notReloaded") is True
    # Newest first: the new row is at the top.
    assert await page.locator("#rows tr").first.get_attribute("data-order-id") == str(order["_id"])


async def test_confirming_a_restaurant_order_stops_its_countdown(
    console_server: ConsoleServer, page: Any
) -> None:
    name = f"Count{secrets.token_hex(3)}"
    await console_server.restaurant_order("luna", first_name=name)
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    order_id = await _order_id_of(page, name)
    await page.goto(f"/console/orders/{order_id}")
    countdown = page.locator("#countdown")
    first = await countdown.text_content()
    assert first and re.fullmatch(r"\d+:\d\d", first), first
    await page.wait_for_function(
        "t => document.querySelector('#countdown').textContent !== t", arg=first
    )

    await page.get_by_role("button", name="Confirm").click()
    await page.get_by_text("Order confirmed.").wait_for()
    assert await page.locator("#countdown").count() == 0
    assert await page.locator("[data-ends-at]").count() == 0
    assert await page.locator("#substatus").get_attribute("data-substatus") == "confirmed"
    assert await page.get_by_role("button", name="Close").count() == 1


async def test_rescheduling_a_partner_order(console_server: ConsoleServer, page: Any) -> None:
    order = await console_server.partner_order(timeslot="1217")
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    await page.goto(f"/console/orders/{order['_id']}")
    new_day = console_server.partner_day(4)
    await page.locator("input[name=date]").fill(new_day)
    await page.locator("select[name=slot]").select_option("0712")
    await page.get_by_role("button", name="Reschedule").click()
    await page.get_by_text("Order rescheduled.").wait_for()
    assert await page.locator("#booking").text_content() == f"{new_day}, 07:00-12:00"
    history = await page.locator("#events").text_content()
    assert history is not None and "Dates changed" in history
    assert console_server.admin.email in history


async def test_the_second_of_two_operators_is_refused_with_the_fresh_order(
    console_server: ConsoleServer, new_context: NewContext
) -> None:
    order = await console_server.partner_order(timeslot="1721")
    other = await console_server.create_operator("dispatcher", name="Second operator")
    pages = []
    for credentials in (console_server.admin, other):
        context = await new_context()
        page = await context.new_page()
        await sign_in(page, credentials.email, credentials.password)
        await page.goto(f"/console/orders/{order['_id']}")
        pages.append(page)
    first, second = pages

    await first.get_by_role("button", name="Cancel order").click()
    await first.get_by_text("Order cancelled.").wait_for()

    await second.get_by_role("button", name="Move to: Awaiting master accept").click()
    refusal = second.locator("#refusal")
    await refusal.wait_for()
    text = await refusal.text_content()
    assert text is not None
    assert "Someone else changed this order: it is now cancelled" in text
    assert "Nothing was changed." in text
    assert await second.locator("#substatus").get_attribute("data-substatus") == "cancelled"
    assert await second.get_by_role("button", name="Move to: Awaiting master accept").count() == 0


async def test_staff_cannot_open_another_restaurants_order(
    console_server: ConsoleServer, new_context: NewContext
) -> None:
    name = f"Other{secrets.token_hex(3)}"
    await console_server.restaurant_order("sole", first_name=name)
    admin_page = await (await new_context()).new_page()
    await sign_in(admin_page, console_server.admin.email, console_server.admin.password)
    order_id = await _order_id_of(admin_page, name)

    staff = console_server.staff["luna"]
    page = await (await new_context()).new_page()
    await sign_in(page, staff.email, staff.password)
    assert await page.locator("tr[data-order-id]", has_text=name).count() == 0
    response = await page.goto(f"/console/orders/{order_id}")
    assert response is not None and response.status == 404
    assert await page.get_by_role("heading", name="Not found").count() == 1
    assert name not in (await page.content())
