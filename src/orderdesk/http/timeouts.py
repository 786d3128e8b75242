"""Slow clients are cut off: request headers and bodies must arrive within set times.

uvicorn times out only idle keep-alive connections, and any byte received cancels even that, so
a client that trickles a request holds its connection (and, for a body, the request's task)
for as long as it likes. Two pieces close that gap:

* :class:`HeaderDeadlineProtocol`, the HTTP protocol ``orderdesk serve`` runs: a request's
  headers must be complete ``ORDERDESK_HEADER_TIMEOUT`` seconds after the connection opened or
  the request's first byte arrived. The application is not called before headers are complete,
  so this can only live at the protocol level.
* :class:`BodyDeadline`, an ASGI middleware: the application may wait at most
  ``ORDERDESK_BODY_TIMEOUT`` seconds in all for a request's body; then the request is answered
  408 in its dialect's shape. Only time spent waiting on the client counts (a request that
  first waits for a database connection is not penalised for it), and any answer sent before
  the body was read to its end closes the connection, so a client cannot keep one open by
  trickling a body nobody reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orderdesk.settings import get_settings


class RequestTimeout(StarletteHTTPException):
    """The request body did not arrive in time; answered 408 by each dialect's HTTP errors."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"The request body did not arrive within {seconds:g} s")


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding":
            return True
        if name == b"content-length" and value.strip() != b"0":
            return True
    return False


class BodyDeadline:
    """Bound the time the application waits for a request body, and close connections whose
    body is left unread."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        complete = not _has_body(scope)
        waited = 0.0

        async def timed_receive() -> Message:
            nonlocal complete, waited
            if complete:
                return await receive()
            started = loop.time()
            try:
                async with asyncio.timeout(max(0.0, self.seconds - waited)):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(self.seconds) from None
            finally:
                waited += loop.time() - started
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not complete:
                # The rest of the body will not be read: without this, the server would
                # discard it as it trickles in and keep the connection for the next request.
                message = {**message, "headers": _with_close(message.get("headers", []))}
            await send(message)

        await self.app(scope, timed_receive, closing_send)


def _with_close(headers: Any) -> list[tuple[bytes, bytes]]:
    kept = [(name, value) for name, value in headers if name.lower() != b"connection"]
    return [*kept, (b"connection", b"close")]


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's headers.

    The deadline starts when the connection opens, and again with the first byte after a
    response (idle keep-alive time before that is governed by ``timeout_keep_alive``); it ends
    when the headers are complete. Past it, the client gets a plain 408 and the connection is
    closed, or, if a response is still being sent on this connection (a pipelined request),
    the connection closes once that response is complete.
    """

    header_timeout: float | None = None  # tests may set it; None reads the settings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_seconds = (
            self.header_timeout
            if self.header_timeout is not None
            else get_settings().header_timeout
        )
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._arm_header_deadline()  # bytes after an idle keep-alive: a request starts
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()  # a pipelined request behind one still being answered

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                self._header_seconds, self._headers_too_slow
            )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # close after the response in progress
            return
        message = f"Request headers did not arrive within {self._header_seconds:g} s".encode()
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(message)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + message
        )
        self.transport.close()
