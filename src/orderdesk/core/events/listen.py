"""A receiver for trying webhooks out: ``orderdesk webhooks listen``.

Someone wiring up a subscriber wants to see what orderdesk sends and whether the secret they
were given verifies it, before writing their own endpoint. This receiver checks either dialect's
signature with the same verifiers a real receiver would copy, prints one line per request and
answers as a strict receiver would (401 for a bad signature), so the dispatcher's retries and
the delivery log show exactly what a misconfigured secret looks like.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderdesk.core.events.signing import (
    PLAIN_HEADER,
    TIMESTAMPED_HEADER,
    verify_plain,
    verify_timestamped,
)

MAX_BODY = 1 << 20

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Received:
    """What one request said and whether its signature holds."""

    at: datetime
    event_id: str
    event: str
    order: str
    signature: str  # valid | invalid | missing | unchecked (no secret given)
    status: int

    def line(self) -> str:
        return (
            f"{self.at.isoformat(timespec='seconds')}  event={self.event_id}  {self.event}  "
            f"order={self.order}  signature {self.signature}  -> {self.status}"
        )


def _signature(headers: Mapping[str, str], body: bytes, secret: str | None, now: datetime) -> str:
    timestamped = headers.get(TIMESTAMPED_HEADER.lower())
    plain = headers.get(PLAIN_HEADER.lower())
    if timestamped is None and plain is None:
        return "missing"
    if secret is None:
        return "unchecked"
    if timestamped is not None:
        ok = verify_timestamped(timestamped, body, secret, now)
    else:
        ok = verify_plain(plain or "", body, secret)
    return "valid" if ok else "invalid"


def _describe(payload: Any) -> tuple[str | None, str, str]:
    """Event id, event name and order of either dialect's payload; ``-`` for what is missing."""
    if not isinstance(payload, dict):
        return None, "(not a JSON object)", "-"
    event_id = payload.get("id", payload.get("event_id"))
    order: Any = "-"
    if isinstance(payload.get("data"), dict):  # partner
        order = payload["data"].get("_id", "-")
    elif isinstance(payload.get("order"), dict):  # restaurant
        order = payload["order"].get("uid", "-")
    return (
        None if event_id is None else str(event_id),
        str(payload.get("event", "-")),
        str(order),
    )


def receive(
    headers: Mapping[str, str], body: bytes, *, secret: str | None, now: datetime
) -> Received:
    """Check one request (header names in lower case) and decide the answer."""
    signature = _signature(headers, body, secret, now)
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = None
        described: tuple[str | None, str, str] = (None, "(not JSON)", "-")
    else:
        described = _describe(payload)
    event_id, event, order = described
    status = 401 if signature in ("invalid", "missing") else 200 if payload is not None else 400
    return Received(
        now, event_id or headers.get("x-orderdesk-event", "-"), event, order, signature, status
    )


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def app(
    *, secret: str | None, emit: Callable[[str], None], clock: Clock
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The receiver as an ASGI application; every POST becomes one ``emit``-ed line."""

    async def application(scope: Scope, receive_message: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive_message())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 405, "webhooks are POSTed\n")
            return
        body = b""
        while True:
            message = await receive_message()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _answer(send, 413, "body too large\n")
                return
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        received = receive(headers, body, secret=secret, now=clock())
        emit(received.line())
        await _answer(send, received.status, f"signature {received.signature}\n")

    return application


def listen_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None: said in one line before starting,
    instead of a server that starts and then logs a bind error."""
    import socket

    try:
        with socket.create_server((host, port)):
            return None
    except OSError as exc:
        # create_server appends the address to the reason; the line names it already.
        reason = (exc.strerror or str(exc)).split(" (while attempting to bind", 1)[0]
        return f"cannot listen on {host}:{port}: {reason}"
