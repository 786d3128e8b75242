"""Readiness: can this process serve requests that write, right now?

``/health`` says the process is up; ``/ready`` says whether its dependencies are usable, so
that a load balancer or orchestrator stops sending traffic to an instance whose database is
unreachable or whose media store is full, read-only or not permitted. Failures are reported,
not logged: probes run every few seconds, and the requests that fail say so in the log.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from orderdesk.http.state import AppState

# A probe must answer quickly even when the pool is exhausted or the database hangs.
CHECK_TIMEOUT = 5.0


class Readiness(BaseModel):
    """Whether this instance can serve writes now, and what stops it if not."""

    model_config = ConfigDict(extra="forbid", title="Readiness")

    status: Literal["ready", "unavailable"]
    database: str = Field(description='"ok", or why the database cannot be used now')
    storage: str = Field(description='"ok", or why the media store cannot be written now')


# The answers of ``GET /ready`` as the OpenAPI document lists them.
READINESS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"model": Readiness, "description": "Database and media store are usable."},
    503: {"model": Readiness, "description": "The database or the media store is not usable."},
}


async def database_problem(state: AppState) -> str | None:
    """``None`` when a pooled connection answers ``SELECT 1`` in time, else what went wrong."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:  # any failure means not ready; the reason is the answer
        return exc.__class__.__name__
    return None


async def storage_problem(state: AppState) -> str | None:
    """``None`` when the media store takes a write now, else why not (``ENOSPC: ...``)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await state.storage.check_writable()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g} s"


async def readiness(state: AppState) -> JSONResponse:
    """200 ``{"status": "ready", ...}`` or 503 ``{"status": "unavailable", ...}``, with
    ``"ok"`` or the problem for each of ``database`` and ``storage``."""
    database, storage = await asyncio.gather(database_problem(state), storage_problem(state))
    ready = database is None and storage is None
    answer = Readiness(
        status="ready" if ready else "unavailable",
        database=database or "ok",
        storage=storage or "ok",
    )
    return JSONResponse(answer.model_dump(), status_code=200 if ready else 503)
