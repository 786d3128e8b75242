"""Secrets stay out of logs; every answer carries the security headers; request bodies are capped;
login throttling is per login and shared by every app instance on one database.

The log test serves the application through a real uvicorn server in this process (so uvicorn's
own access and error logs are produced too) and captures every record of the ``orderdesk``,
``uvicorn`` and ``sqlalchemy`` loggers at DEBUG while it logs in, fails to log in, creates and
confirms orders, calls the restaurant API with each kind of credential, delivers webhooks and
hits an internal error. No password, token, API key, client secret or webhook secret may appear
in any record's message, arguments or exception text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image as PILImage
from tests.factories import (
    MILANO_PLACES,
    apply_document,
    login,
    make_partner,
    order_body,
    restaurant_doc,
)

from orderdesk.app import create_app
from orderdesk.core.events.dispatcher import Dispatcher
from orderdesk.core.orders import service as orders_service
from orderdesk.http.state import AppState
from orderdesk.settings import Settings

CAPTURED_LOGGERS = ("orderdesk", "uvicorn", "sqlalchemy")


def local_day(offset: int, timezone: str = "Europe/Riga") -> str:
    return (
        datetime.now(UTC).astimezone(ZoneInfo(timezone)).date() + timedelta(days=offset)
    ).isoformat()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` (lifespan already running) behind a real uvicorn server; yields its base URL.

    ``log_config=None`` leaves logging alone, so uvicorn's records reach the test's handlers.
    """
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_config=None,
            log_level="debug",
            access_log=True,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not server.started:
            assert not task.done(), "uvicorn stopped before it started"
            assert asyncio.get_running_loop().time() < deadline, "uvicorn did not start"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), str(record.msg)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Secrets never logged


async def test_no_secret_reaches_any_log_record(
    app: FastAPI,
    state: AppState,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in CAPTURED_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    secret_values: dict[str, str] = {}

    # Set up (the operator's `apply` path is logged too): webhook secrets for both dialects.
    partner = await make_partner(state)
    partner_hook = f"partner-hook-{secrets.token_urlsafe(16)}"
    partner.document["partners"][0]["webhooks"] = [
        {"url": "https://hooks.example/partner", "secret": partner_hook}
    ]
    await apply_document(state, partner.document)
    restaurant_hook = f"resto-hook-{secrets.token_urlsafe(16)}"
    doc = restaurant_doc(
        webhooks=[{"url": "https://hooks.example/resto", "secret": restaurant_hook}]
    )
    await apply_document(state, {"version": 1, "restaurants": [doc], "places": MILANO_PLACES})
    api_key, client_secret = doc["api_keys"][0], doc["clients"][0]["client_secret"]
    client_headers = {
        "X-Client-Id": doc["clients"][0]["client_id"],
        "X-Client-Secret": client_secret,
    }
    secret_values.update(
        partner_password=partner.password,
        partner_hook=partner_hook,
        restaurant_hook=restaurant_hook,
        api_key=api_key,
        client_secret=client_secret,
    )

    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        # Partner: a failed login (wrong password, then an unknown login), a login, an order.
        wrong = f"wrong-{secrets.token_urlsafe(12)}"
        secret_values["wrong_password"] = wrong
        for login_name in (partner.login, f"nobody-{secrets.token_hex(4)}@example.com"):
            failed = await http.post(
                "/partner/auth/authorize", json={"login": login_name, "password": wrong}
            )
            assert failed.status_code == 401
        token = (await login(http, partner))["token"]
        secret_values["partner_token"] = token
        created = await http.post(
            "/partner/order/create",
            headers={"token": token},
            json=order_body(partner, [(local_day(2), "0712")]),
        )
        assert created.status_code == 200, created.text
        order_id = created.json()["data"]["_id"]
        assert (
            await http.get(f"/partner/order/{order_id}", headers={"token": token})
        ).status_code == 200
        assert (
            await http.get("/partner/order/list", headers={"token": "not-" + token})
        ).status_code == 401

        # Restaurant: each kind of credential, an order, its token in confirm's query string.
        issued = await http.post(
            "/api/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": doc["clients"][0]["client_id"],
                "client_secret": client_secret,
            },
        )
        assert issued.status_code == 200, issued.text
        bearer = issued.json()["access_token"]
        secret_values["bearer"] = bearer
        times = await http.post(
            "/api/order/pickup_delivery_times",
            headers=client_headers,
            json={"dmethod": "0", "subrestaurant_uid": doc["subrestaurants"][0]["uid"]},
        )
        when = times.json()["data"]["pickup_times"][0]["date"]
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
            "subrestaurant_uid": doc["subrestaurants"][0]["uid"],
            "pickup": {"date": when},
            "details": [{"product": {"uid": f"{doc['uid']}-acqua"}, "quantity": 1}],
        }
        order = (
            await http.post(
                "/api/order/create", headers={"Authorization": f"Bearer {bearer}"}, json=body
            )
        ).json()["order"]
        secret_values["order_token"] = order["token"]
        listed = await http.get(
            "/api/orders/list", headers={"X-Api-Key": api_key}, params={"page": 1}
        )
        assert listed.json()["total_count"] == 1
        for action in ("confirm", "close"):
            done = await http.post(
                f"/api/order/{action}",
                headers={"X-Api-Key": api_key},
                params={"uid": order["uid"], "token": order["token"]},
            )
            assert done.json()["success"] is True, done.text
        assert (
            await http.get(
                "/api/orders/list", headers={"X-Api-Key": "x" + api_key}, params={"page": 1}
            )
        ).status_code == 401

        # An internal error while an order with a fresh token is written: its uid collides.
        collision_token = secrets.token_urlsafe(24)
        secret_values["colliding_order_token"] = collision_token
        monkeypatch.setattr(
            orders_service,
            "secrets",
            types.SimpleNamespace(
                token_hex=lambda n: order["uid"], token_urlsafe=lambda n: collision_token
            ),
        )
        crashed = await http.post("/api/order/create", headers=client_headers, json=body)
        monkeypatch.undo()
        assert crashed.status_code == 500, crashed.text
        assert crashed.json() == {
            "success": False,
            "error": "INTERNAL_ERROR",
            "message": "Internal error",
        }

    # Webhook delivery reads the subscribers' secrets and signs with them.
    delivered: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        delivered.append(request)
        return httpx.Response(200)

    dispatcher = Dispatcher(
        state.sessions,
        clock=state.now,
        client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(receive)),
    )
    try:
        while await dispatcher.run_once():
            pass
    finally:
        await dispatcher.aclose()
    hooks = {r.url.path for r in delivered if r.url.host == "hooks.example"}
    assert hooks == {"/partner", "/resto"}, hooks

    records = [r for r in caplog.records if r.name.split(".")[0] in CAPTURED_LOGGERS]
    names = {r.name for r in records}
    assert "uvicorn.access" in names and "orderdesk" in names
    assert any(n.startswith("sqlalchemy.engine") for n in names), names
    # The records that used to carry secrets are still there, with the secrets replaced.
    assert any(
        "/api/order/confirm?uid=" in r.getMessage() and "token=***" in r.getMessage()
        for r in records
        if r.name == "uvicorn.access"
    )
    crash = [_record_text(r) for r in records if r.name == "orderdesk" and r.exc_info]
    assert crash and "INSERT INTO orders" in crash[0] and "parameters hidden" in crash[0], crash
    assert any(r.msg == "Row %r" for r in records)
    leaks = sorted(
        {
            (label, record.name, str(record.msg)[:40])
            for record in records
            for label, value in secret_values.items()
            if value in _record_text(record)
        }
    )
    assert not leaks, leaks


# ---------------------------------------------------------------------------------------------
# Security headers


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

Call = Callable[[httpx.AsyncClient, dict[str, Any]], Awaitable[httpx.Response]]


async def _headers_world(client: httpx.AsyncClient, state: AppState) -> dict[str, Any]:
    partner = await make_partner(state)
    doc, other = restaurant_doc(), restaurant_doc()
    await apply_document(state, {"version": 1, "restaurants": [doc, other]})
    return {
        "token": (await login(client, partner))["token"],
        "api_key": doc["api_keys"][0],
        "client": doc["clients"][0],
        "partner": partner,
        "other": other["uid"],
    }


HEADER_CASES: dict[str, tuple[int, Call]] = {
    "partner-200": (200, lambda c, w: c.get("/partner/store/list", headers={"token": w["token"]})),
    "partner-401": (401, lambda c, w: c.get("/partner/store/list")),
    "partner-404-order": (
        404,
        lambda c, w: c.get("/partner/order/2147483000", headers={"token": w["token"]}),
    ),
    "partner-404-route": (404, lambda c, w: c.get("/partner/no/such/route")),
    "partner-405": (405, lambda c, w: c.delete("/partner/store/list")),
    "partner-413": (
        413,
        lambda c, w: c.post("/partner/auth/authorize", content=b"{" + b" " * 70_000 + b"}"),
    ),
    "partner-422": (422, lambda c, w: c.post("/partner/auth/authorize", content=b"{")),
    "partner-image": (200, None),  # built in the test: served images keep their own caching
    "restaurant-200": (
        200,
        lambda c, w: c.get(
            "/api/orders/list", params={"page": 1}, headers={"X-Api-Key": w["api_key"]}
        ),
    ),
    "restaurant-200-failure": (
        200,
        lambda c, w: c.get(
            "/api/orders/get", params={"uid": "nope"}, headers={"X-Api-Key": w["api_key"]}
        ),
    ),
    "restaurant-401": (401, lambda c, w: c.get("/api/orders/list", params={"page": 1})),
    "restaurant-403": (
        403,
        lambda c, w: c.get(
            "/api/orders/list",
            params={"page": 1, "restuid": w["other"]},
            headers={"X-Api-Key": w["api_key"]},
        ),
    ),
    "restaurant-401-restuid": (
        401,
        lambda c, w: c.get(
            "/api/orders/list",
            params={"page": 1, "restuid": "nobody"},
            headers={"X-Api-Key": w["api_key"]},
        ),
    ),
    "restaurant-404-route": (404, lambda c, w: c.get("/api/no/such/route")),
    "restaurant-413": (
        413,
        lambda c, w: c.post(
            "/api/order/validate_address",
            content=b"{" + b" " * 70_000 + b"}",
            headers={"X-Api-Key": w["api_key"]},
        ),
    ),
    "restaurant-oauth-200": (
        200,
        lambda c, w: c.post(
            "/api/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": w["client"]["client_id"],
                "client_secret": w["client"]["client_secret"],
            },
        ),
    ),
    "restaurant-oauth-401": (
        401,
        lambda c, w: c.post(
            "/api/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "nobody",
                "client_secret": "nope",
            },
        ),
    ),
    "health": (200, lambda c, w: c.get("/health")),
    "openapi": (200, lambda c, w: c.get("/openapi.json")),
}


@pytest.mark.parametrize("name", list(HEADER_CASES))
async def test_security_headers(name: str, client: httpx.AsyncClient, state: AppState) -> None:
    world = await _headers_world(client, state)
    status, call = HEADER_CASES[name]
    expected = dict(SECURITY_HEADERS)
    if call is None:  # an uploaded image, fetched back by its capability URL
        png = BytesIO()
        PILImage.new("RGB", (8, 8), "red").save(png, "PNG")
        uploaded = await client.post(
            "/partner/image/upload",
            headers={"token": world["token"]},
            files={"file": ("r.png", png.getvalue(), "image/png")},
        )
        response = await client.get(uploaded.json()["data"][0]["url"])
        expected["cache-control"] = "private, max-age=31536000, immutable"
    else:
        response = await call(client, world)
    assert response.status_code == status, response.text
    for header, value in expected.items():
        assert response.headers.get(header) == value, (header, dict(response.headers))


@pytest.mark.parametrize("dialect", ["partner", "restaurant"])
async def test_security_headers_on_an_internal_error(
    dialect: str,
    app: FastAPI,
    state: AppState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The framework re-raises after answering 500 (for the server's log): don't raise it here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    world = await _headers_world(client, state)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    if dialect == "partner":
        monkeypatch.setattr(orders_service, "get_order", broken)
        response = await client.get("/partner/order/1", headers={"token": world["token"]})
    else:
        monkeypatch.setattr(orders_service, "get_order_by_uid", broken)
        response = await client.get(
            "/api/orders/get", params={"uid": "x"}, headers={"X-Api-Key": world["api_key"]}
        )
    await client.aclose()
    assert response.status_code == 500, response.text
    for header, value in SECURITY_HEADERS.items():
        assert response.headers.get(header) == value, (header, dict(response.headers))


# ---------------------------------------------------------------------------------------------
# Request body caps, in each dialect's error shape


async def _over_cap_world(client: httpx.AsyncClient, state: AppState) -> dict[str, str]:
    partner = await make_partner(state)
    doc = restaurant_doc()
    await apply_document(state, {"version": 1, "restaurants": [doc]})
    return {
        "token": (await login(client, partner))["token"],
        "key": doc["api_keys"][0],
        "client_id": doc["clients"][0]["client_id"],
        "client_secret": doc["clients"][0]["client_secret"],
    }


def _json_of(size: int) -> bytes:
    """A syntactically valid JSON object of ``size`` bytes (a long string field)."""
    return b'{"notes": "' + b"x" * (size - 13) + b'"}'


# endpoint: (path, auth kind, size that is over its cap)
CAPPED = {
    "partner-authorize": ("/partner/auth/authorize", "none", 65 * 1024),
    "partner-order-create": ("/partner/order/create", "partner", 257 * 1024),
    "partner-order-datetime": ("/partner/order/1/datetime", "partner", 65 * 1024),
    "restaurant-order-create": ("/api/order/create", "restaurant", 257 * 1024),
    "restaurant-validate-address": ("/api/order/validate_address", "restaurant", 65 * 1024),
    "restaurant-times": ("/api/order/pickup_delivery_times", "restaurant", 65 * 1024),
    "restaurant-menu-import": ("/api/menu/import", "restaurant", 8 * 1024 * 1024 + 1024),
    "restaurant-over-the-server-cap": ("/api/menu/import", "restaurant", 13 * 1024 * 1024),
}


def assert_too_large(path: str, response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    body = response.json()
    if path.startswith("/partner"):
        assert (
            body["name"],
            body["type"],
            body["code"],
            body["statusCode"],
            body["status"],
            body["data"],
        ) == ("PayloadTooLargeError", "PAYLOAD_TOO_LARGE", 413, 413, "error", None), body
    else:
        assert set(body) == {"success", "error", "message"} and body["success"] is False, body
        assert "body" in body["message"], body


@pytest.mark.parametrize("streamed", [False, True], ids=["declared", "chunked"])
@pytest.mark.parametrize("name", list(CAPPED))
async def test_over_cap_json_body_is_413_in_the_dialects_shape(
    name: str, streamed: bool, client: httpx.AsyncClient, state: AppState
) -> None:
    world = await _over_cap_world(client, state)
    path, auth, size = CAPPED[name]
    headers = {"Content-Type": "application/json"}
    if auth == "partner":
        headers["token"] = world["token"]
    elif auth == "restaurant":
        headers.update(
            {"X-Client-Id": world["client_id"], "X-Client-Secret": world["client_secret"]}
        )
    payload = _json_of(size)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 256 * 1024):
            yield payload[start : start + 256 * 1024]

    response = await client.post(path, headers=headers, content=chunks() if streamed else payload)
    assert_too_large(path, response)


async def test_oauth_form_over_the_server_cap_is_413(
    client: httpx.AsyncClient, state: AppState
) -> None:
    response = await client.post(
        "/api/oauth/token",
        content=b"grant_type=" + b"a" * (state.settings.request_max_bytes + 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_too_large("/api/oauth/token", response)


# ---------------------------------------------------------------------------------------------
# Login throttling across app instances


@contextlib.asynccontextmanager
async def _running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield client


async def test_login_throttling_is_per_login_and_shared_by_two_app_instances(
    database_url: str, tmp_path: Path, state: AppState
) -> None:
    settings = Settings(
        database_url=database_url,
        media_dir=tmp_path,
        login_max_failures=3,
        rate_limit_enabled=False,
    )
    one, two = create_app(settings, background=False), create_app(settings, background=False)
    victim, bystander = await make_partner(state), await make_partner(state)

    def attempt(client: httpx.AsyncClient, who: Any, password: str) -> Awaitable[httpx.Response]:
        return client.post(
            "/partner/auth/authorize", json={"login": who.login, "password": password}
        )

    async with _running(one) as first, _running(two) as second:
        for client in (first, second, first):  # three failures, spread over both instances
            assert (await attempt(client, victim, "wrong password")).status_code == 401
        for client in (second, first):  # refused by both, even with the right password
            refused = await attempt(client, victim, victim.password)
            assert refused.status_code == 429, refused.text
            assert refused.json()["type"] == "RATE_LIMIT"
            assert int(refused.headers["Retry-After"]) > 0
        # Another login on the same instances is not affected, and its success does not
        # lift the throttled one's refusal.
        assert (await attempt(second, bystander, "wrong password")).status_code == 401
        assert (await attempt(first, bystander, bystander.password)).status_code == 200
        assert (await attempt(second, victim, victim.password)).status_code == 429
