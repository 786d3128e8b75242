"""The application's own pages, outside both dialects."""

from __future__ import annotations

import httpx


async def test_bare_address_points_to_the_documentation(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    links = response.json()
    assert {key: links[key] for key in ("docs", "redoc", "openapi")} == {
        "docs": "/docs",
        "redoc": "/redoc",
        "openapi": "/openapi.json",
    }
    for key in ("docs", "redoc", "openapi", "health"):
        assert (await client.get(links[key])).status_code == 200, key
    document = (await client.get("/openapi.json")).json()
    assert "/" not in document["paths"]
