"""The capacity calendar in Chromium against a real server (SQLite and PostgreSQL): a number
typed into a cell and Enter sets it (not the "one fewer" button next to it), + adds a master."""

from __future__ import annotations

from typing import Any

import pytest
from tests.console.support import ConsoleServer, sign_in

pytestmark = pytest.mark.processes


async def test_typing_a_number_and_enter_sets_the_cell_and_plus_adds_one(
    console_server: ConsoleServer, page: Any
) -> None:
    day = console_server.partner_day(5)
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    await page.goto("/console/capacity")
    await page.get_by_role("link", name="Next week").wait_for()
    cell = page.locator(f'td[data-day="{day}"][data-slot="0712"]')
    if await cell.count() == 0:
        await page.get_by_role("link", name="Next week →").click()
    await cell.locator("input[name=capacity]").fill("5")
    await cell.locator("input[name=capacity]").press("Enter")
    await cell.locator(".cap-count", has_text="0 / 5").wait_for()

    await cell.get_by_role("button", name="An extra master").click()
    await cell.locator(".cap-count", has_text="0 / 6").wait_for()
    await cell.get_by_role("button", name="One master fewer").click()
    await cell.locator(".cap-count", has_text="0 / 5").wait_for()
