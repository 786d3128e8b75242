"""Log lines: JSON or text as configured, the request id on every line of a request and in every
answer's ``X-Request-Id``, one access line per request, and secrets redacted in both formats."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send
from tests.servers import free_port

from orderdesk.core.organizations import service as organizations
from orderdesk.http.logging import (
    REQUEST_ID_MAX_LENGTH,
    RequestContext,
    accepted_request_id,
    configure_logging,
    current_request_id,
    resolve_format,
)
from orderdesk.settings import SettingsError, load_settings

UUID_HEX = re.compile(r"[0-9a-f]{32}")
SECRET = "s3cr3t-order-token-value"
CONFIRM = f"/api/order/confirm?uid=some-order&token={SECRET}"
_TOUCHED_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic")


@pytest.fixture
def configured() -> Iterator[None]:
    """Lets a test call :func:`configure_logging`, then puts the loggers back as they were, so
    that the rest of the run logs as before."""
    saved = []
    for name in _TOUCHED_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.level, logger.propagate))
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


def _json_lines(err: str) -> list[dict[str, Any]]:
    """Every line written, each of which must be one JSON object."""
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def _access(lines: list[dict[str, Any]], path: str) -> dict[str, Any]:
    found = [line for line in lines if line["logger"] == "orderdesk.access"]
    found = [line for line in found if line["path"].startswith(path)]
    assert len(found) == 1, lines
    return found[0]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123", True),
        ("req 42/a:b", True),
        ("x" * REQUEST_ID_MAX_LENGTH, True),
        ("x" * (REQUEST_ID_MAX_LENGTH + 1), False),
        ("", False),
        ("   ", False),
        ("line\nbreak", False),
        ("tab\there", False),
        ("caf\u00e9", False),
        (None, False),
    ],
)
def test_a_callers_request_id_is_kept_only_when_printable_and_short(
    given: str | None, kept: bool
) -> None:
    accepted = accepted_request_id(given)
    if kept:
        assert accepted == given
    else:
        assert UUID_HEX.fullmatch(accepted), accepted


async def test_every_answer_carries_a_request_id(client: httpx.AsyncClient) -> None:
    made = await client.get("/health")
    assert UUID_HEX.fullmatch(made.headers["X-Request-Id"])
    other = await client.get("/health")
    assert other.headers["X-Request-Id"] != made.headers["X-Request-Id"]

    echoed = await client.get("/health", headers={"X-Request-Id": "edge-7f3a"})
    assert echoed.headers["X-Request-Id"] == "edge-7f3a"

    too_long = await client.get("/health", headers={"X-Request-Id": "y" * 129})
    assert UUID_HEX.fullmatch(too_long.headers["X-Request-Id"])

    # Errors in each dialect's shape and the application's own carry it too.
    for path in ("/partner/no/such/path", "/api/no/such/path", "/nowhere"):
        missing = await client.get(path, headers={"X-Request-Id": "err-1"})
        assert missing.status_code == 404
        assert missing.headers["X-Request-Id"] == "err-1"


async def test_a_500_carries_the_id_and_its_log_line_too(
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    configured: None,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("defect")

    monkeypatch.setattr(organizations, "get_location_by_key", broken)
    configure_logging("json", "info")
    capsys.readouterr()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(
            "/partner/slots/free?store_id=riga", headers={"X-Request-Id": "crash-1"}
        )
    assert response.status_code == 500
    assert response.headers["X-Request-Id"] == "crash-1"
    lines = _json_lines(capsys.readouterr().err)
    unhandled = [line for line in lines if line["message"].startswith("unhandled error")]
    assert len(unhandled) == 1, lines
    assert unhandled[0]["request_id"] == "crash-1"
    assert unhandled[0]["level"] == "ERROR"
    assert "RuntimeError: defect" in unhandled[0]["exc_info"]
    access = _access(lines, "/partner/slots/free")
    assert (access["status"], access["request_id"]) == (500, "crash-1")


async def test_the_servers_own_line_about_a_crash_has_the_id(
    capsys: pytest.CaptureFixture[str], configured: None
) -> None:
    """uvicorn logs an exception that escapes the application after the middleware has
    returned, in the task it runs each request in; that line still names the request."""

    async def crashing(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        raise RuntimeError("escaped")

    async def sent(message: Message) -> None:
        pass

    async def received() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def server_task() -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/x",
            "query_string": b"",
            "headers": [(b"x-request-id", b"escaped-1")],
        }
        try:
            await RequestContext(crashing)(scope, received, sent)
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    configure_logging("json", "info")
    capsys.readouterr()
    await asyncio.create_task(server_task())
    lines = _json_lines(capsys.readouterr().err)
    assert [(line["logger"], line["request_id"]) for line in lines] == [
        ("orderdesk.access", "escaped-1"),
        ("uvicorn.error", "escaped-1"),
    ]
    assert current_request_id() is None


async def test_json_lines_one_access_line_per_request_with_its_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], configured: None
) -> None:
    configure_logging("json", "info")
    capsys.readouterr()
    response = await client.get("/health", headers={"X-Request-Id": "trace-abc"})
    assert response.status_code == 200
    # A line logged outside any request has no id.
    logging.getLogger("orderdesk").info("between requests")
    lines = _json_lines(capsys.readouterr().err)
    access = _access(lines, "/health")
    assert access["method"] == "GET"
    assert access["path"] == "/health"
    assert access["status"] == 200
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["request_id"] == "trace-abc"
    assert access["level"] == "INFO"
    assert "timestamp" in access
    outside = [line for line in lines if line["message"] == "between requests"]
    assert len(outside) == 1 and "request_id" not in outside[0]


async def test_text_lines_show_the_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], configured: None
) -> None:
    configure_logging("text", "info")
    capsys.readouterr()
    await client.get("/health", headers={"X-Request-Id": "trace-txt"})
    err = capsys.readouterr().err
    access = [line for line in err.splitlines() if "orderdesk.access" in line]
    assert len(access) == 1, err
    assert "[trace-txt] GET /health 200 " in access[0]
    assert access[0].endswith(" ms")
    with pytest.raises(json.JSONDecodeError):
        json.loads(access[0])


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_secrets_in_urls_are_redacted_in_both_formats(
    log_format: str,
    client: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
    configured: None,
) -> None:
    configure_logging(log_format, "info")  # type: ignore[arg-type]
    capsys.readouterr()
    await client.post(CONFIRM, headers={"X-Api-Key": "any-key-at-all-000"})
    # uvicorn's own access line, as when the app runs under uvicorn with its access log on.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", CONFIRM, "1.1", 200
    )
    # Any other line quoting such a URL (the test client's httpx logs its request too).
    logging.getLogger("orderdesk.dispatcher").warning("delivery to https://hook%s failed", CONFIRM)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("token=***") >= 3, err
    if log_format == "json":
        lines = _json_lines(err)
        assert _access(lines, "/api/order/confirm")["path"] == (
            "/api/order/confirm?uid=some-order&token=***"
        )
        uvicorn_line = [line for line in lines if line["logger"] == "uvicorn.access"]
        assert "token=***" in uvicorn_line[0]["message"]


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert resolve_format("auto", _Stream(tty=True)) == "text"
    assert resolve_format("auto", _Stream(tty=False)) == "json"
    assert resolve_format("json", _Stream(tty=True)) == "json"
    assert resolve_format("text", _Stream(tty=False)) == "text"


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "xml"), ("LOG_LEVEL", "loud")])
def test_an_unknown_log_setting_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"ORDERDESK_{name}", value)
    with pytest.raises(SettingsError, match=f"ORDERDESK_{name}"):
        load_settings()


def test_log_levels_are_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERDESK_LOG_LEVEL", "WARNING")
    assert load_settings().log_level == "warning"


@pytest.mark.processes
def test_serve_writes_json_lines_in_every_worker(tmp_path: Path) -> None:
    """A real ``orderdesk serve --workers 2``: uvicorn's lines and the access lines are JSON,
    with the caller's request id, and no uvicorn access line besides orderdesk's."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env.update({"ORDERDESK_MEDIA_DIR": str(tmp_path / "media"), "ORDERDESK_LOG_FORMAT": "json"})
    output = tmp_path / "server.log"
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orderdesk",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                "--database-url",
                f"sqlite:///{tmp_path / 'serve.db'}",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, output.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        for n in range(6):
            answer = httpx.get(
                f"http://127.0.0.1:{port}/ready", headers={"X-Request-Id": f"probe-{n}"}
            )
            assert answer.headers["X-Request-Id"] == f"probe-{n}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    # Only the serve command's own notices ("orderdesk: ...") are not log records.
    text = output.read_text()
    logged = [line for line in text.splitlines() if line.strip()]
    lines = [json.loads(line) for line in logged if not line.startswith("orderdesk: ")]
    started = [line for line in lines if line["message"] == "Application startup complete."]
    assert len(started) == 2, text
    assert all(line["logger"] == "uvicorn.error" for line in started)
    probes = [line for line in lines if line.get("path") == "/ready"]
    assert sorted(line["request_id"] for line in probes) == [f"probe-{n}" for n in range(6)]
    assert all(line["logger"] == "orderdesk.access" for line in probes)
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
