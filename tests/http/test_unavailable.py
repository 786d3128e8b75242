"""A database that cannot serve a request is answered "unavailable, retry" in each dialect's shape.

Partner: HTTP 503 ``SERVICE_UNAVAILABLE``; restaurant: HTTP 200 ``INTERNAL_ERROR`` (its errors
are HTTP 200); both with ``Retry-After``, a warning in the log and no traceback. A database error
that is a defect stays a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from orderdesk.app import create_app
from orderdesk.core.organizations import service as organizations
from orderdesk.http.state import AppState
from orderdesk.settings import Settings

PARTNER = ("GET", "/partner/slots/free?store_id=riga", {})
RESTAURANT = ("GET", "/api/menu/categories?page=1", {"X-Api-Key": "any-key-at-all-000"})


@asynccontextmanager
async def _served(
    database_url: str, media: Path, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    app = create_app(
        Settings(database_url=database_url, media_dir=media, rate_limit_enabled=False, **settings),
        background=False,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client, app.state.orderdesk


async def _call(
    client: httpx.AsyncClient, request: tuple[str, str, dict[str, str]]
) -> httpx.Response:
    method, url, headers = request
    return await client.request(method, url, headers=headers)


def _assert_unavailable(partner: httpx.Response, restaurant: httpx.Response) -> None:
    assert partner.status_code == 503, partner.text
    assert partner.headers["Retry-After"] == "2"
    body = partner.json()
    assert (body["name"], body["type"], body["code"], body["statusCode"], body["status"]) == (
        "ServiceUnavailableError",
        "SERVICE_UNAVAILABLE",
        503,
        503,
        "error",
    )
    assert "retry" in body["message"]

    assert restaurant.status_code == 200, restaurant.text
    assert restaurant.headers["Retry-After"] == "2"
    assert restaurant.json()["success"] is False
    assert restaurant.json()["error"] == "INTERNAL_ERROR"
    for response in (partner, restaurant):
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_pool_busy_past_its_timeout_answers_retry_then_serves_again(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with _served(database_url, tmp_path, db_pool_size=1, db_pool_timeout=0.2) as (
        client,
        state,
    ):
        with caplog.at_level(logging.WARNING, logger="orderdesk"):
            async with state.engine.connect():  # the only pooled connection, held
                partner, restaurant = await _call(client, PARTNER), await _call(client, RESTAURANT)
        _assert_unavailable(partner, restaurant)
        assert [r.levelno for r in caplog.records if r.name == "orderdesk"] == [logging.WARNING] * 2
        assert not any(r.exc_info for r in caplog.records)

        partner, restaurant = await _call(client, PARTNER), await _call(client, RESTAURANT)
        assert partner.status_code == 422 and partner.json()["data"][0]["field"] == "store_id"
        assert restaurant.status_code == 401 and restaurant.json()["error"] == "INVALID_KEY"


async def test_an_unreachable_database_answers_retry(tmp_path: Path) -> None:
    async with _served("postgresql://orderdesk@127.0.0.1:1/gone", tmp_path) as (client, _):
        partner, restaurant = await _call(client, PARTNER), await _call(client, RESTAURANT)
    _assert_unavailable(partner, restaurant)


async def test_a_database_error_that_is_a_defect_is_still_a_500(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def violates(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(organizations, "get_location_by_key", violates)
    async with _served(database_url, tmp_path) as (client, _):
        response = await _call(client, PARTNER)
    assert response.status_code == 500, response.text
    assert response.json()["type"] == "INTERNAL_ERROR"
    assert "Retry-After" not in response.headers
