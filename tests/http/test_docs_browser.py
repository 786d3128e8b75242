"""``/docs`` and ``/redoc`` work in a real browser that can reach nothing but the server.

A page that needs a CDN renders blank on a machine without internet, and nothing short of a
browser notices: the HTML is served fine. Chromium is Debian's (``apt-get install chromium``);
every request to another origin is aborted and counted, and so is every load the page's
Content-Security-Policy refuses, so a page that so much as tries to reach out fails the test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.servers import running_server

pytestmark = pytest.mark.processes

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Both UIs render the whole document client-side; a slow CI machine gets generous time.
RENDER_TIMEOUT_MS = 30_000

# Reported by the page itself: the browser refuses these loads before any request is made, so
# route interception alone would not see them.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} refused ${event.blockedURI}`);
});
"""


@dataclass
class Browsing:
    """One browser context confined to the server's origin, and what it tried beyond it."""

    base: str
    context: Any
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def open(self, path: str) -> Any:
        page = await self.context.new_page()
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        await page.goto(self.base + path)
        return page

    def assert_self_contained(self) -> None:
        assert not self.outside, f"the page tried to reach other origins: {self.outside}"
        assert not self.errors, f"the page reported errors: {self.errors}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's package (apt-get install chromium)")
    directory = tmp_path_factory.mktemp("docs-browser")
    media = directory / "media"
    media.mkdir()
    with running_server(f"sqlite:///{directory / 'orderdesk.db'}", media_dir=media) as base:
        yield base


@pytest.fixture(scope="module")
def document(server: str) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{server}/openapi.json", timeout=30).json()
    return result


@pytest.fixture
async def browsing(server: str) -> AsyncIterator[Browsing]:
    from playwright.async_api import Route, async_playwright

    own = urlsplit(server).netloc
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = await browser.new_context()
            session = Browsing(server, context)

            async def only_own_origin(route: Route) -> None:
                url = route.request.url
                if urlsplit(url).netloc == own:
                    await route.continue_()
                else:
                    session.outside.append(url)
                    await route.abort()

            await context.route("**/*", only_own_origin)
            await context.add_init_script(REPORT_CSP_VIOLATIONS)
            yield session
        finally:
            await browser.close()


METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations(document: dict[str, Any], section: str = "paths") -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document.get(section, {}).items()
        for method in item
        if method in METHODS
    }


async def test_swagger_ui_lists_both_dialects_and_reaches_nothing_outside(
    browsing: Browsing, document: dict[str, Any]
) -> None:
    page = await browsing.open("/docs")
    await page.wait_for_selector(".opblock-summary-path", timeout=RENDER_TIMEOUT_MS)
    blocks = await page.locator(".opblock").evaluate_all(
        """blocks => blocks.map(block => [
                [...block.classList]
                    .find(c => c.startsWith("opblock-") && c !== "opblock-deprecated")
                    .slice("opblock-".length),
                block.querySelector(".opblock-summary-path").dataset.path,
            ])"""
    )
    shown = {(method, path) for method, path in blocks}
    assert ("post", "/partner/order/create") in shown
    assert ("post", "/api/order/create") in shown
    # Swagger UI lists the document's webhooks too, each under its name.
    assert shown == operations(document) | operations(document, "webhooks")
    browsing.assert_self_contained()


# One scheme of every kind the dialects use, for the dialog's own test.
SCHEMES_OF_EVERY_KIND: dict[str, Any] = {
    "PartnerToken": {"type": "apiKey", "in": "header", "name": "token"},
    "RestaurantApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "RestaurantOAuth": {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "/api/oauth/token", "scopes": {}}},
    },
    "RestaurantBearer": {"type": "http", "scheme": "bearer"},
}


async def authorize_dialog(page: Any) -> tuple[Any, set[str]]:
    """Opens "Authorize" and returns the dialog and the names of the schemes it offers."""
    await page.wait_for_selector(".opblock-summary-path", timeout=RENDER_TIMEOUT_MS)
    await page.locator("button.authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    await dialog.wait_for(timeout=RENDER_TIMEOUT_MS)
    # "PartnerToken (apiKey)", "RestaurantOAuth (OAuth2, clientCredentials)"
    titles = await dialog.locator(".auth-container h4").all_text_contents()
    return dialog, {title.replace("\xa0", " ").split(" (")[0].strip() for title in titles}


async def test_authorize_dialog_offers_every_security_scheme(
    browsing: Browsing, document: dict[str, Any]
) -> None:
    schemes = set(document.get("components", {}).get("securitySchemes", {}))
    assert schemes, "the document declares no security schemes, so /docs offers no Authorize"
    page = await browsing.open("/docs")
    _, offered = await authorize_dialog(page)
    assert offered == schemes
    browsing.assert_self_contained()


async def test_authorize_applies_and_keeps_credentials_of_every_kind(
    browsing: Browsing, document: dict[str, Any]
) -> None:
    """API keys and a bearer token typed in, a client-credentials token fetched from the
    server's token URL: each is applied and kept across a reload (``persistAuthorization``)."""
    from playwright.async_api import Route

    served = {**document, "components": {**document.get("components", {})}}
    served["components"]["securitySchemes"] = SCHEMES_OF_EVERY_KIND
    token_requests: list[str] = []

    async def token_endpoint(route: Route) -> None:
        token_requests.append(route.request.post_data or "")
        await route.fulfill(json={"access_token": "issued", "token_type": "bearer"})

    await browsing.context.route("**/openapi.json", lambda route: route.fulfill(json=served))
    await browsing.context.route("**/api/oauth/token", token_endpoint)
    page = await browsing.open("/docs")
    dialog, offered = await authorize_dialog(page)
    assert offered == set(SCHEMES_OF_EVERY_KIND)
    for name in ("PartnerToken", "RestaurantApiKey", "RestaurantBearer"):
        container = dialog.locator(".auth-container", has_text=name)
        await container.locator("input").first.fill(f"secret-of-{name}")
        await container.locator("button.authorize").click()
    oauth = dialog.locator(".auth-container", has_text="RestaurantOAuth")
    await oauth.locator("input[data-name='clientId']").fill("client-1")
    await oauth.locator("input[data-name='clientSecret']").fill("client-secret-1")
    await oauth.locator("button.authorize").click()
    await oauth.locator("h6", has_text="Authorized").wait_for(timeout=RENDER_TIMEOUT_MS)
    assert len(token_requests) == 1
    assert "grant_type=client_credentials" in token_requests[0]

    await page.reload()
    await page.wait_for_selector(".opblock-summary-path", timeout=RENDER_TIMEOUT_MS)
    kept = await page.evaluate("JSON.parse(localStorage.getItem('authorized') || '{}')")
    assert set(kept) == set(SCHEMES_OF_EVERY_KIND)
    assert kept["PartnerToken"]["value"] == "secret-of-PartnerToken"
    assert kept["RestaurantOAuth"]["token"]["access_token"] == "issued"
    browsing.assert_self_contained()


async def test_redoc_renders_both_dialects_and_reaches_nothing_outside(
    browsing: Browsing, document: dict[str, Any]
) -> None:
    page = await browsing.open("/redoc")
    await page.wait_for_selector("[data-section-id^='operation/'], [data-section-id^='tag/']")
    # Each operation's method and path, as Redoc shows it above the operation's samples.
    endpoints = await page.locator("span.http-verb").evaluate_all(
        """verbs => verbs.map(v => [v.textContent.trim().toLowerCase(),
                                    v.nextElementSibling && v.nextElementSibling.textContent])"""
    )
    shown = {(method, path) for method, path in endpoints if path}
    assert ("post", "/partner/order/create") in shown
    assert ("post", "/api/order/create") in shown
    assert shown == operations(document)
    browsing.assert_self_contained()


def test_chromium_is_present_where_ci_runs() -> None:
    """The browser tests skip without Chromium; CI installs it, so there they must not skip."""
    if os.environ.get("CI") and not CHROMIUM.exists():
        pytest.fail("CI runs without Chromium: .ci/run must install Debian's chromium")
