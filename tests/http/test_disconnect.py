"""A client that leaves in the middle of sending its request is no server error."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message
from tests.dialects.restaurant.order_support import restaurant
from tests.factories import login, make_partner

from orderdesk.http.state import AppState


async def _cut_short(app: FastAPI, path: str, headers: dict[str, str]) -> list[Message]:
    """POST to ``path`` with half a body, then disconnect; what the app sent back."""
    sent: list[Message] = []
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"customer": ', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("test", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"400"),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    await app(scope, receive, send)
    return sent


async def test_a_body_cut_short_by_a_disconnect_is_logged_quietly(
    app: FastAPI, client: httpx.AsyncClient, state: AppState, caplog: pytest.LogCaptureFixture
) -> None:
    partner = await make_partner(state)
    r = await restaurant(state)
    cases = [
        ("/partner/order/create", await login(client, partner)),
        ("/api/order/create", r.key_headers),
    ]
    for path, headers in cases:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="orderdesk"):
            sent = await _cut_short(app, path, headers)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], path
        assert any("disconnected" in r.getMessage() for r in caplog.records), path
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] < 500
