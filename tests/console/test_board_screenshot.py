"""The picture of the board in the README, taken here from a real server and a real browser.

Every run takes it (into the test's temporary directory) and checks that it is a picture of a
board with orders of both dialects on it; ``UPDATE_SCREENSHOTS=1`` writes the SQLite run's
picture to ``docs/images/console-board.png`` as well, which is how the README's copy is made.
"""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from tests.console.support import TIMEOUT_MS, ConsoleServer, NewContext, sign_in

README_COPY = Path(__file__).parents[2] / "docs" / "images" / "console-board.png"


async def test_board_screenshot(
    console_server: ConsoleServer, new_context: NewContext, tmp_path: Path
) -> None:
    customers = [("Marta", "Kalnina"), ("Jonas", "Berzins"), ("Ilze", "Ozola")]
    for first, last in customers:
        await console_server.partner_order(
            customer={"phone_number": "+371 20 000 002", "first_name": first, "last_name": last}
        )
    await console_server.restaurant_order("luna", first_name="Giulia", quantity=2)
    await console_server.restaurant_order("sole", first_name="Marco", product=1)
    context = await new_context(viewport={"width": 1280, "height": 640})
    page: Any = await context.new_page()
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    await page.locator("tr[data-order-id]", has_text="Marco").wait_for(timeout=TIMEOUT_MS)
    # Let the arrival highlight of rows fade before the picture is taken.
    await page.wait_for_timeout(2500)
    png = await page.screenshot(path=str(tmp_path / "console-board.png"))
    with PILImage.open(BytesIO(png)) as picture:
        assert picture.size == (1280, 640)
    assert await page.locator("tr[data-order-id]").count() >= len(customers) + 2
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" and console_server.backend == "sqlite":
        README_COPY.parent.mkdir(parents=True, exist_ok=True)
        README_COPY.write_bytes(png)
