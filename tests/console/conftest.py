"""Fixtures of the console's browser tests: a real server, Debian's Chromium, signed-in pages.

* ``console_server`` (module scope, once on SQLite and once on PostgreSQL): a fresh database with
  the setup document of :func:`tests.console.support.setup_document` applied by
  ``orderdesk apply``, an admin and a staff operator of each restaurant created by
  ``orderdesk operator create``, and ``orderdesk serve`` running on a free port. Tests of one
  module share it, so each test makes its own orders (and its own operators when it changes
  one).
* ``browser`` (session scope): headless Chromium from ``/usr/bin/chromium``; the tests are skipped,
  saying so, when it is absent (``apt-get install chromium``).
* ``new_context()``: a fresh browser context (own cookies) whose ``base_url`` is the server's and
  which can reach nothing else; ``page``: a page in one such context.

Sign in with :func:`tests.console.support.sign_in`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.conftest import fresh_database
from tests.console.support import (
    CHROMIUM,
    LAUNCH_ARGS,
    RESTAURANTS,
    TIMEOUT_MS,
    ConsoleServer,
    Credentials,
    NewContext,
    new_password,
    orderdesk,
    restaurants_of,
    setup_document,
)
from tests.reliability.support import apply_document, server_env
from tests.servers import running_server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def console_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConsoleServer]:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 (one stat, before anything starts)
        # Said before a database and a server are built for nothing.
        pytest.skip(f"{CHROMIUM} is absent: install Debian's package (apt-get install chromium)")
    directory = tmp_path_factory.mktemp(f"console-{request.param}")
    async with fresh_database(request.param, directory) as url:
        document = setup_document()
        await apply_document(url, document, directory)
        operators: list[Credentials] = [
            Credentials("admin@console.example", new_password(), "admin")
        ]
        operators += [
            Credentials(f"staff@{uid}.example", new_password(), "staff", uid) for uid in RESTAURANTS
        ]
        for operator in operators:
            args = ["operator", "create", operator.email, "--role", operator.role]
            if operator.organization:
                args += ["--org", operator.organization]
            await orderdesk(url, *args, stdin=operator.password + "\n")
        media = directory / "media"
        media.mkdir()
        with running_server(url, media_dir=media, env_extra=server_env()) as base:
            yield ConsoleServer(
                base_url=base,
                database_url=url,
                backend=request.param,
                admin=operators[0],
                staff={operator.organization or "": operator for operator in operators[1:]},
                restaurants=restaurants_of(document),
            )


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 (one stat, before anything starts)
        pytest.skip(f"{CHROMIUM} is absent: install Debian's package (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def new_context(browser: Any, console_server: ConsoleServer) -> AsyncIterator[NewContext]:
    """``await new_context(**options)``: a browser context of its own (cookies, storage) on the
    server; ``options`` go to Playwright's ``browser.new_context``. Closed after the test."""
    from playwright.async_api import Route

    own = urlsplit(console_server.base_url).netloc
    opened: list[Any] = []

    async def only_own_origin(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            await route.abort()

    async def make(**options: Any) -> Any:
        context = await browser.new_context(base_url=console_server.base_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        await context.route("**/*", only_own_origin)
        opened.append(context)
        return context

    yield make
    for context in opened:
        await context.close()


@pytest.fixture
async def page(new_context: NewContext) -> Any:
    context = await new_context()
    return await context.new_page()
