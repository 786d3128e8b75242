"""Readiness: can this process serve requests that write, right now?

``/health`` says the process is up; ``/ready`` says whether its dependencies are usable, so
that a load balancer or orchestrator stops sending traffic to an instance whose database is
unreachable, whose schema is not the one its code was written for (a deployment that skipped
or has not yet finished ``orderdesk migrate``, or a database restored from an older backup), or
whose media store is full, read-only or not permitted. Failures are reported, not logged: probes
run every few seconds, and the requests that fail say so in the log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from alembic.script import ScriptDirectory
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from orderdesk.db.migrate import alembic_config
from orderdesk.http.state import AppState

# A probe must answer quickly even when the pool is exhausted or the database hangs.
CHECK_TIMEOUT = 5.0


class Readiness(BaseModel):
    """Whether this instance can serve writes now, and what stops it if not."""

    model_config = ConfigDict(extra="forbid", title="Readiness", populate_by_name=True)

    status: Literal["ready", "unavailable"]
    database: str = Field(description='"ok", or why the database cannot be used now')
    schema_: str = Field(
        alias="schema",
        description='"ok" when the database is at the latest migration, else what it is at',
    )
    storage: str = Field(description='"ok", or why the media store cannot be written now')


# The answers of ``GET /ready`` as the OpenAPI document lists them.
READINESS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "model": Readiness,
        "description": "Database and media store usable, schema at the latest migration.",
    },
    503: {
        "model": Readiness,
        "description": "The database, its schema or the media store is not usable.",
    },
}


@dataclass(frozen=True)
class PackagedMigrations:
    """The latest revision of the migrations shipped with this code, and every earlier one.

    Read once when the application is built: the files cannot change under a running process,
    and parsing them on every probe would cost a probe its speed.
    """

    head: str
    known: frozenset[str]

    @classmethod
    def load(cls) -> PackagedMigrations:
        scripts = ScriptDirectory.from_config(alembic_config())
        heads = scripts.get_heads()
        if len(heads) != 1:
            raise RuntimeError(f"the packaged migrations have {len(heads)} heads: {heads}")
        return cls(heads[0], frozenset(rev.revision for rev in scripts.walk_revisions()))

    def problem(self, versions: list[str]) -> str | None:
        """``None`` when ``versions`` (the rows of ``alembic_version``) is the head, else what
        the schema is at instead."""
        if versions == [self.head]:
            return None
        if not versions:
            return f"no migration applied; the latest is {self.head}"
        at = ", ".join(sorted(versions))
        if all(version in self.known for version in versions):
            return f"at revision {at}, the latest is {self.head}: run orderdesk migrate"
        return f"at revision {at}, which this version does not know (its latest is {self.head})"


async def database_problems(
    state: AppState, migrations: PackagedMigrations
) -> tuple[str | None, str]:
    """Whether a pooled connection answers ``SELECT 1`` in time (``None``, else what went
    wrong), and ``"ok"`` or what is wrong with the schema's migration, on one connection."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                try:
                    rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
                except DBAPIError as exc:
                    if exc.connection_invalidated:
                        raise
                    return None, "no alembic_version table: the database was never migrated"
                versions = [str(version) for version in rows.scalars()]
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g} s", "unknown: the database did not answer"
    except Exception as exc:  # any failure means not ready; the reason is the answer
        return exc.__class__.__name__, "unknown: the database did not answer"
    return None, migrations.problem(versions) or "ok"


async def storage_problem(state: AppState) -> str | None:
    """``None`` when the media store takes a write now, else why not (``ENOSPC: ...``)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await state.storage.check_writable()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:g} s"


async def readiness(state: AppState, migrations: PackagedMigrations) -> JSONResponse:
    """200 ``{"status": "ready", ...}`` or 503 ``{"status": "unavailable", ...}``, with
    ``"ok"`` or the problem for each of ``database``, ``schema`` and ``storage``."""
    (database, schema), storage = await asyncio.gather(
        database_problems(state, migrations), storage_problem(state)
    )
    ready = database is None and schema == "ok" and storage is None
    answer = Readiness(
        status="ready" if ready else "unavailable",
        database=database or "ok",
        schema_=schema,
        storage=storage or "ok",
    )
    return JSONResponse(answer.model_dump(by_alias=True), status_code=200 if ready else 503)
