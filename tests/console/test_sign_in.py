"""Signing in to the console and out of it, in a real browser against a real server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.console.support import ConsoleServer, NewContext, sign_in

from orderdesk.console.web import SESSION_COOKIE

pytestmark = pytest.mark.processes


def path_of(page: Any) -> str:
    return str(urlsplit(page.url).path)


async def submit_login(page: Any, email: str, password: str) -> None:
    await page.goto("/console/login")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()


async def session_cookies(context: Any) -> list[dict[str, Any]]:
    return [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]


@pytest.mark.parametrize("wrong", ["password", "email"])
async def test_wrong_credentials_show_an_error_and_stay_on_the_login_page(
    console_server: ConsoleServer, page: Any, wrong: str
) -> None:
    admin = console_server.admin
    email = "nobody@console.example" if wrong == "email" else admin.email
    password = admin.password + ("!" if wrong == "password" else "")
    await submit_login(page, email, password)
    assert path_of(page) == "/console/login"
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "wrong email or password" in (await alert.inner_text()).lower()
    # The email is kept for a second try; the password is not.
    assert await page.locator("input[name=email]").input_value() == email
    assert await page.locator("input[name=password]").input_value() == ""
    assert await session_cookies(page.context) == []
    await page.goto("/console/")
    assert path_of(page) == "/console/login"


async def test_right_password_lands_on_the_board(console_server: ConsoleServer, page: Any) -> None:
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    assert path_of(page) == "/console/"
    await page.get_by_role("button", name="Sign out").wait_for()
    assert await page.get_by_role("alert").count() == 0
    # Still signed in on the next page load.
    await page.reload()
    assert path_of(page) == "/console/"


async def test_staff_sign_in_too(console_server: ConsoleServer, page: Any) -> None:
    staff = console_server.staff["luna"]
    await sign_in(page, staff.email, staff.password)
    assert path_of(page) == "/console/"


async def test_sign_out_ends_the_session_on_the_server(
    console_server: ConsoleServer, page: Any, new_context: NewContext
) -> None:
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    [cookie] = await session_cookies(page.context)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/console/login")
    await page.goto("/console/")
    assert path_of(page) == "/console/login"
    # The token itself is dead, not only forgotten by this browser.
    other = await new_context()
    await other.add_cookies([cookie])
    replay = await other.new_page()
    await replay.goto("/console/")
    assert path_of(replay) == "/console/login"


async def test_each_browser_has_its_own_session(
    console_server: ConsoleServer, page: Any, new_context: NewContext
) -> None:
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    stranger = await (await new_context()).new_page()
    await stranger.goto("/console/")
    assert path_of(stranger) == "/console/login"


async def test_session_cookie_is_http_only_and_same_site(
    console_server: ConsoleServer, page: Any
) -> None:
    await sign_in(page, console_server.admin.email, console_server.admin.password)
    [cookie] = await session_cookies(page.context)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] in ("Lax", "Strict")
    assert cookie["path"] == "/console"
    assert console_server.admin.password not in cookie["value"]
    # Page scripts cannot read it.
    assert SESSION_COOKIE not in await page.evaluate("document.cookie")
