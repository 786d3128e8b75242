"""The documentation pages name no other origin, even where no browser is at hand to try them
(tests/http/test_docs_browser.py renders them in Chromium)."""

from __future__ import annotations

import re

import httpx
import pytest

from orderdesk.http.docs import ASSET_PATCHES, ASSETS_URL

PAGES = ["/docs", "/redoc", "/docs/oauth2-redirect"]
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[\w.-]+""")


@pytest.mark.parametrize("page", PAGES)
async def test_page_loads_nothing_from_elsewhere(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert ABSOLUTE_URL.findall(response.text) == []
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"].startswith("'self'")
    for source in " ".join(directives.values()).split():
        assert source.startswith("'") or source in {"data:", "blob:"}, policy
    # The framing ban of every other answer holds for the documentation too.
    assert response.headers["x-frame-options"] == "DENY"


async def test_inline_script_is_allowed_by_its_nonce_only(client: httpx.AsyncClient) -> None:
    first, second = [await client.get("/docs") for _ in range(2)]
    nonces = [re.search(r'<script nonce="([^"]+)">', r.text) for r in (first, second)]
    assert all(nonces)
    one, two = (n.group(1) for n in nonces if n)
    assert one != two
    assert f"'nonce-{one}'" in first.headers["content-security-policy"]


@pytest.mark.parametrize(
    "asset", ["swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"]
)
async def test_assets_are_served_and_revalidated(client: httpx.AsyncClient, asset: str) -> None:
    response = await client.get(f"{ASSETS_URL}/{asset}")
    assert response.status_code == 200
    assert len(response.content) > 1000
    assert response.headers["cache-control"] == "no-cache"
    again = await client.get(
        f"{ASSETS_URL}/{asset}", headers={"if-none-match": response.headers["etag"]}
    )
    assert again.status_code == 304
    if asset in ASSET_PATCHES:
        old, new = ASSET_PATCHES[asset]
        assert old not in response.content
        assert new in response.content
