"""Slow clients are cut off: headers and bodies must arrive in time, or 408 and the connection
is closed, while every other client is served as usual.

In process (``BodyDeadline``, both databases): a body that stops arriving is answered 408 in
the dialect's own shape with ``Connection: close``; a body that arrives in time is untouched;
an answer given before the body was read closes the connection.

Real ``orderdesk serve`` processes (both databases), with the deadlines shortened to seconds:
raw sockets trickle request headers or bodies byte by byte, or send nothing at all; each is
answered 408 and closed near its deadline, while ``/health`` and an authenticated item list
stay fast; an idle keep-alive connection is not mistaken for slow headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import fresh_database
from tests.factories import login, make_partner
from tests.reliability.support import apply_document, report, server_env
from tests.reliability.test_resource_pressure import LOGIN, _document, serving

from orderdesk.app import create_app
from orderdesk.settings import Settings

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 2.0
TRICKLERS = 20


# ---------------------------------------------------------------------------------------------
# In process


@pytest.fixture
async def impatient_app(database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        media_dir=tmp_path / "media",
        rate_limit_enabled=False,
        body_timeout=0.5,
    )
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def impatient(impatient_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=impatient_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def stalled(first: bytes, pause: float = 5.0) -> AsyncIterator[bytes]:
    """A body that starts, then stops arriving."""
    yield first
    await asyncio.sleep(pause)
    yield b"}"


async def test_a_stalled_partner_body_is_408_in_the_partner_shape_and_closes(
    impatient: httpx.AsyncClient, impatient_app: FastAPI
) -> None:
    headers = await login(impatient, await make_partner(impatient_app.state.orderdesk))
    started = time.monotonic()
    response = await impatient.post(
        "/partner/order/create",
        content=stalled(b'{"customer": '),
        headers={**headers, "Content-Type": "application/json", "Content-Length": "200"},
    )

    assert 0.4 < time.monotonic() - started < 3
    assert response.status_code == 408, response.text
    body = response.json()
    assert (body["code"], body["statusCode"], body["status"]) == (408, 408, "error")
    assert (body["name"], body["type"]) == ("RequestTimeoutError", "REQUEST_TIMEOUT")
    assert "did not arrive within 0.5 s" in body["message"]
    assert response.headers["connection"] == "close"


async def test_a_stalled_upload_is_408_not_a_file_error(
    impatient: httpx.AsyncClient, impatient_app: FastAPI
) -> None:
    headers = await login(impatient, await make_partner(impatient_app.state.orderdesk))
    part = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="r.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG"
    )
    response = await impatient.post(
        "/partner/image/upload",
        content=stalled(part),
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
    )

    assert response.status_code == 408, response.text
    assert response.headers["connection"] == "close"


async def test_a_stalled_restaurant_body_is_408_in_the_restaurant_shape(
    impatient: httpx.AsyncClient,
) -> None:
    response = await impatient.post(
        "/api/order/create",
        content=stalled(b'{"client": '),
        headers={"X-Api-Key": "anything", "Content-Type": "application/json"},
    )

    # Authentication comes first and fails without reading the body: closed all the same.
    assert response.status_code in (401, 403, 408), response.text
    assert response.json()["success"] is False
    assert response.headers["connection"] == "close"


async def test_a_body_that_arrives_in_time_is_untouched_and_keeps_the_connection(
    impatient: httpx.AsyncClient, impatient_app: FastAPI
) -> None:
    headers = await login(impatient, await make_partner(impatient_app.state.orderdesk))

    async def steady() -> AsyncIterator[bytes]:
        for piece in (b'{"customer"', b": {}}"):
            await asyncio.sleep(0.2)  # 0.4 s in all: under the 0.5 s
            yield piece

    response = await impatient.post(
        "/partner/order/create",
        content=steady(),
        headers={**headers, "Content-Type": "application/json"},
    )
    listed = await impatient.get("/partner/store/list", headers=headers)

    assert response.status_code == 422, response.text  # read whole, then validated
    assert "connection" not in response.headers
    assert listed.status_code == 200 and "connection" not in listed.headers


async def test_the_deadline_counts_only_time_spent_waiting_for_the_client(
    impatient_app: FastAPI,
) -> None:
    """A request the application keeps waiting (here: its own slow start) still gets its
    whole allowance for the body."""
    received: list[bytes] = []

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.8)  # longer than the 0.5 s deadline, but not the client's doing
        while True:
            message = await receive()
            received.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    from orderdesk.http.timeouts import BodyDeadline

    transport = httpx.ASGITransport(app=BodyDeadline(slow_app, seconds=0.5))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/x", content=b"x" * 1000)

    assert response.status_code == 204
    assert b"".join(received) == b"x" * 1000


# ---------------------------------------------------------------------------------------------
# Real servers, raw sockets


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A server with deadlines of seconds, its partner loaded; yields its base URL."""

    async def prepare() -> tuple[str, Any]:
        manager = fresh_database(request.param, tmp_path)
        url = await manager.__aenter__()
        await apply_document(url, _document(date.today() + timedelta(days=3)), tmp_path)
        return url, manager

    loop = asyncio.new_event_loop()
    try:
        url, manager = loop.run_until_complete(prepare())
        try:
            with serving(
                url,
                tmp_path / "media",
                tmp_path / "server.log",
                {
                    **server_env(),
                    "ORDERDESK_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
                    "ORDERDESK_BODY_TIMEOUT": str(BODY_TIMEOUT),
                },
            ) as (base, _):
                yield base
        finally:
            loop.run_until_complete(manager.__aexit__(None, None, None))
    finally:
        loop.close()


async def _connect(base: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = base.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _answer_then_eof(reader: asyncio.StreamReader, within: float) -> tuple[int, bytes]:
    """The status and body of the answer, after which the server must close the connection.

    Status 0: the connection was reset before any answer could be read. A server that closes
    while the client is still sending makes the client's kernel send a reset, which discards
    an answer not yet read; a client that keeps trickling after its deadline can meet that.
    """
    raw = b""
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(within):
            while chunk := await reader.read(65536):
                raw += chunk
    if not raw:
        return 0, b""
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), raw
    return int(head.split()[1]), body


async def _trickle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, every: float
) -> None:
    """Send ``data`` a byte at a time until it is sent, an answer starts or the server hangs
    up (as a client does that reads while it sends)."""
    for byte in data:
        if reader._buffer or reader.at_eof():  # type: ignore[attr-defined]
            return
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except (ConnectionError, OSError):
            return
        await asyncio.sleep(every)


async def _latencies(base: str, headers: dict[str, str], stop: asyncio.Event) -> list[float]:
    """Round trips of /health and an authenticated item list until ``stop``."""
    seen: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        while not stop.is_set():
            for path, extra in (("/health", {}), ("/partner/item/list", headers)):
                started = time.monotonic()
                response = await client.get(path, headers=extra)
                assert response.status_code == 200, response.text
                seen.append(time.monotonic() - started)
            await asyncio.sleep(0.05)
    return seen


async def test_trickled_headers_and_silent_connections_get_408_and_are_closed(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        token = (await client.post("/partner/auth/authorize", json=LOGIN)).json()["data"]["token"]
    stop = asyncio.Event()
    others = asyncio.create_task(_latencies(server, {"token": token}, stop))

    async def trickled_headers() -> tuple[float, int, bytes]:
        started = time.monotonic()  # before the connection: the deadline starts with it
        reader, writer = await _connect(server)
        request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
        sender = asyncio.create_task(_trickle(reader, writer, request, 0.1))
        status, body = await _answer_then_eof(reader, 10)
        elapsed = time.monotonic() - started
        await sender
        writer.close()
        return elapsed, status, body

    async def silent() -> tuple[float, int, bytes]:
        started = time.monotonic()
        reader, writer = await _connect(server)
        status, body = await _answer_then_eof(reader, 10)
        writer.close()
        return time.monotonic() - started, status, body

    try:
        results = await asyncio.gather(
            *(trickled_headers() for _ in range(TRICKLERS)), *(silent() for _ in range(5))
        )
    finally:
        stop.set()
        latencies = await others

    report(
        {
            "scenario": "trickled-headers",
            "server": server,
            "connections": len(results),
            "cut_after_s": f"{min(r[0] for r in results):.1f}-{max(r[0] for r in results):.1f}",
            "others_max_ms": round(max(latencies) * 1000),
            "others_requests": len(latencies),
        }
    )
    trickled, silent_ones = results[:TRICKLERS], results[TRICKLERS:]
    # A trickler may still be sending when the server closes: reset (status 0), closed as well.
    assert sum(1 for _, status, _ in trickled if status) >= TRICKLERS * 3 // 4
    assert all(status == 408 for _, status, _ in silent_ones)
    for elapsed, status, body in results:
        assert status in (0, 408)
        assert not status or b"did not arrive within 1.5 s" in body
        # (The event loop's timers may fire a fraction of a millisecond early.)
        assert HEADER_TIMEOUT - 0.01 <= elapsed < HEADER_TIMEOUT + 2
    assert max(latencies) < 1.0


async def test_an_idle_keep_alive_connection_is_not_slow_headers(server: str) -> None:
    reader, writer = await _connect(server)
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(2):
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200"), head
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        await asyncio.sleep(HEADER_TIMEOUT + 1)  # idle longer than the header deadline
    writer.close()


async def test_trickled_bodies_get_408_and_are_closed_while_others_are_served(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        token = (await client.post("/partner/auth/authorize", json=LOGIN)).json()["data"]["token"]
    stop = asyncio.Event()
    others = asyncio.create_task(_latencies(server, {"token": token}, stop))

    async def trickled_body(token: str) -> tuple[float, int, bytes]:
        body = json.dumps({"customer": {"first_name": "x" * 500}}).encode()
        reader, writer = await _connect(server)
        writer.write(
            b"POST /partner/order/create HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            b"token: " + token.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        await writer.drain()
        started = time.monotonic()
        sender = asyncio.create_task(_trickle(reader, writer, body, 0.1))
        status, answer = await _answer_then_eof(reader, 15)
        elapsed = time.monotonic() - started
        await sender
        writer.close()
        return elapsed, status, answer

    try:
        results = await asyncio.gather(
            *(trickled_body(token) for _ in range(TRICKLERS)),
            *(trickled_body("not-a-token") for _ in range(5)),
        )
    finally:
        stop.set()
        latencies = await others
    timed_out, unauthenticated = results[:TRICKLERS], results[TRICKLERS:]

    report(
        {
            "scenario": "trickled-bodies",
            "server": server,
            "connections": len(results),
            "cut_after_s": f"{min(r[0] for r in timed_out):.1f}-{max(r[0] for r in timed_out):.1f}",
            "others_max_ms": round(max(latencies) * 1000),
            "others_requests": len(latencies),
        }
    )
    answered = [(elapsed, answer) for elapsed, status, answer in timed_out if status]
    assert len(answered) >= TRICKLERS * 3 // 4  # the rest were reset, closed all the same
    for elapsed, status, answer in timed_out:
        if status:
            assert status == 408, answer
            error = json.loads(answer)
            assert (error["statusCode"], error["status"]) == (408, "error")
        # Timed from this side, after the headers were sent: a little before the server's clock.
        assert BODY_TIMEOUT - 0.5 < elapsed < BODY_TIMEOUT + 3
    for elapsed, status, _ in unauthenticated:  # answered at once, body never read: closed
        assert status in (0, 401) and elapsed < BODY_TIMEOUT
    assert max(latencies) < 1.0
