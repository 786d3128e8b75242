"""Log lines an operator can search: one JSON object per line in production, a request id on each.

Everything in orderdesk (and in uvicorn, SQLAlchemy, alembic) logs through the standard
``logging`` module; this module only decides how the records are written, so no call site knows
or cares about the format:

* ``ORDERDESK_LOG_FORMAT=json`` writes each record as one JSON object per line
  (``python-json-logger``), which log shippers ingest without parsing rules; ``text`` writes the
  familiar one-line text for a terminal; ``auto`` (the default) picks text when standard error
  is a terminal and JSON otherwise, so a developer and a container get what each can read.
* :class:`RequestContext`, a pure ASGI middleware wrapped around the whole application, gives
  every request an id (the caller's ``X-Request-Id`` when it is a sane one, else a fresh uuid4),
  returns it in the ``X-Request-Id`` header of every answer, 500s included, and keeps it in a
  context variable that :class:`RequestIdFilter` copies onto every record logged while the
  request is handled. A caller quoting the header lets an operator find every line of that
  request, in every worker process.
* It also writes the access log, one line per request with method, path, status, duration and
  request id, when the answer is complete (uvicorn's own access line is written before the body
  and knows neither the duration nor the request id, so ``orderdesk serve`` turns it off).
  Secret query parameters are redacted in that line as in uvicorn's (``orderdesk.http.redaction``).
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any, Literal, TextIO

from fastapi import FastAPI
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderdesk.http.redaction import redact_url

LogFormat = Literal["json", "text", "auto"]

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's id is kept only if it is visible ASCII (spaces inside allowed) and not too long:
# it is written into every log line and echoed in a header, so nothing that could forge a line
# break, smuggle a header or bloat the logs gets through; anything else gets a fresh id.
REQUEST_ID_MAX_LENGTH = 128
_VALID_REQUEST_ID = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")

_request_id: ContextVar[str | None] = ContextVar("orderdesk_request_id", default=None)

access_log = logging.getLogger("orderdesk.access")

# uvicorn's records carry a colourised copy of their message for its own formatter; in JSON it
# would be a second, escaped copy of the message.
_SKIPPED_ATTRIBUTES = [*RESERVED_ATTRS, "color_message"]
# uvicorn's extra level below DEBUG (``--log-level trace``).
_LEVELS = {"trace": 5}


def current_request_id() -> str | None:
    """The id of the request being handled in this context, ``None`` outside any request."""
    return _request_id.get()


def accepted_request_id(value: str | None) -> str:
    """The caller's id when it is printable and at most 128 characters, else a fresh one."""
    if value is not None:
        value = value.strip()
        if len(value) <= REQUEST_ID_MAX_LENGTH and _VALID_REQUEST_ID.fullmatch(value):
            return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Stamps ``request_id`` on every record, so that formatters can rely on the attribute.

    Attached to the handler rather than to loggers: handler filters see the records of every
    logger that propagates to it (uvicorn's, SQLAlchemy's, the application's).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class RedactionFilter(logging.Filter):
    """Secret query parameters redacted in every line, whichever logger wrote it.

    uvicorn's access records are redacted where they are made (``orderdesk.http.redaction``);
    this catches any other line that quotes a URL, such as httpx's line for each outgoing
    request (webhook subscribers' URLs may carry a token).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_url(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record: timestamp (UTC, ISO 8601), level, logger, message,
    request_id inside a request, ``exc_info`` with the traceback, and any ``extra`` fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=_SKIPPED_ATTRIBUTES,
            timestamp=True,
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # Lines logged outside a request (start-up, background loops) have no id to show.
        if log_data.get("request_id") is None:
            log_data.pop("request_id", None)
        return log_data


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message`` for reading in a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(request_part)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request_part = f"[{request_id}] " if request_id else ""
        return super().format(record)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record.

    A handler that kept the stream it was created with would write into a closed buffer once a
    test runner or an embedding program swaps standard error back.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def resolve_format(log_format: LogFormat, stream: TextIO | None = None) -> Literal["json", "text"]:
    """``auto`` is text when ``stream`` (standard error) is a terminal, else JSON."""
    if log_format != "auto":
        return log_format
    stream = stream if stream is not None else sys.stderr
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        interactive = False
    return "text" if interactive else "json"


def logging_config(log_format: LogFormat, level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` document for a process: every record, uvicorn's too,
    goes through one standard-error handler in the chosen format.

    ``orderdesk serve`` hands the same document to uvicorn, which applies it in each worker
    process it starts.
    """
    formatter = JsonLineFormatter if resolve_format(log_format) == "json" else TextFormatter
    numeric = _LEVELS.get(level.lower(), level.upper())
    propagate = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "redaction": {"()": RedactionFilter},
        },
        "formatters": {"orderdesk": {"()": formatter}},
        "handlers": {
            "stderr": {
                "()": StderrHandler,
                "formatter": "orderdesk",
                "filters": ["request_id", "redaction"],
            }
        },
        "loggers": {
            "uvicorn": propagate,
            "uvicorn.error": propagate,
            "uvicorn.access": propagate,
            # Every command migrates first; alembic's "Context impl ..." lines on every start
            # say nothing an operator needs. Its warnings and errors still show.
            "alembic": {"level": "WARNING"},
        },
        "root": {"handlers": ["stderr"], "level": numeric},
    }


def configure_logging(log_format: LogFormat, level: str) -> None:
    """Apply :func:`logging_config` to this process."""
    logging.config.dictConfig(logging_config(log_format, level))


class RequestContext:
    """Request ids, the ``X-Request-Id`` answer header and the access log, around everything.

    It must wrap Starlette's ``ServerErrorMiddleware`` (see :func:`install_request_context`):
    that middleware answers unhandled errors with a 500 of its own and logs them, and both the
    answer and the log line need the id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v for k, v in scope.get("headers", []) if k == b"x-request-id"),
            None,
        )
        request_id = accepted_request_id(
            incoming.decode("latin-1") if incoming is not None else None
        )
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 0
        started = time.perf_counter()

        async def with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message["headers"] = [*headers, header]
            await send(message)

        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, with_request_id)
        except BaseException:
            _log_access(scope, status, time.perf_counter() - started)
            # Left set: the server logs the exception ("Exception in ASGI application") after
            # this returns, in the request's own task (uvicorn runs each request in one), and
            # that line belongs to the request too.
            raise
        _log_access(scope, status, time.perf_counter() - started)
        _request_id.reset(token)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    path = scope.get("path", "")
    query = scope.get("query_string", b"")
    if query:
        path = redact_url(f"{path}?{query.decode('latin-1')}")
    client = scope.get("client")
    duration_ms = round(seconds * 1000, 2)
    # Status 0: the client left or the application failed before any answer was sent.
    access_log.info(
        "%s %s %d %.2f ms",
        scope.get("method", ""),
        path,
        status,
        duration_ms,
        extra={
            "method": scope.get("method", ""),
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client": client[0] if client else None,
        },
    )


def install_request_context(app: FastAPI) -> None:
    """Wrap :class:`RequestContext` around the application's whole middleware stack.

    ``add_middleware`` would put it inside ``ServerErrorMiddleware``, whose 500s would then go
    out without the id and whose error log lines would be written after the id is gone.
    """
    build = app.build_middleware_stack

    def build_with_request_context() -> ASGIApp:
        return RequestContext(build())

    app.build_middleware_stack = build_with_request_context  # type: ignore[method-assign]
