"""Engines and sessions for both supported databases.

SQLite is the embedded default (one process); PostgreSQL is production (many processes). Both run
the same SQL: concurrency-critical writes are conditional ``UPDATE``s or ``INSERT ... ON CONFLICT``
which are correct on either. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` so that
two writers never both hold a read snapshot and then fail to upgrade ("database is locked"); the
busy timeout makes the second writer wait instead.

Statements carry secrets (order tokens, webhook secrets) as parameters and in result rows, so an
engine never lets them reach a log: parameters are hidden from SQL logging and from the text of
database exceptions (``hide_parameters``), and result rows logged at DEBUG are replaced by a
placeholder. Statements themselves are still logged when an operator turns SQL logging on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from orderdesk.db.cache import ConfigCache


def async_url(url: str) -> str:
    """Accept the plain URL forms operators write and pick the async driver ourselves."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL: {url}")


def _hide_result_rows(record: logging.LogRecord) -> bool:
    """SQLAlchemy logs every fetched row at DEBUG ("Row %r"); keep the line, drop the values."""
    if record.msg == "Row %r":
        record.args = ("<hidden>",)
    return True


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 30) -> AsyncEngine:
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(_hide_result_rows)  # idempotent
    full = async_url(url)
    if full.startswith("sqlite"):
        engine = create_async_engine(
            full,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout,
            hide_parameters=True,
        )
        _configure_sqlite(engine)
        return engine
    # No overflow: a burst waits for a pooled connection instead of opening more, so the total a
    # deployment uses is exactly workers x pool size (sized against max_connections).
    engine = create_async_engine(
        full,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        connect_args={"server_settings": {"application_name": "orderdesk"}},
        hide_parameters=True,
    )
    _ping_idle_connections(engine)
    return engine


# A pooled connection unused for longer than this is tested before it is handed out.
PING_IDLE_AFTER = 5.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Test a pooled connection before use only when it sat idle for a while.

    ``pool_pre_ping`` tests every connection at every checkout: one more round trip for every
    request, the price of noticing a server restart before a request does. A connection in
    steady use proves itself with every statement; one that sat idle (after a quiet night, a
    restart, a failover) is the one that may be dead, so only those are pinged. A dead one is
    replaced by a fresh connection before the request sees it. Should a connection die while in
    use, the request is answered "unavailable, retry" (``orderdesk.db.errors``) and the pool
    discards it.
    """
    sync = engine.sync_engine

    @event.listens_for(sync, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_AFTER:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # any failure: the pool retries with a new connection
            raise DisconnectionError(str(exc.__class__.__name__)) from exc


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that we can say BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync, "begin")
    def _on_begin(conn: Any) -> None:
        # A connection of read_only_engine reads: a deferred BEGIN takes no write lock, and in
        # WAL mode it neither waits for writers nor makes them wait.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY = "orderdesk_read_only"


def read_only_engine(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` for requests that only read.

    PostgreSQL: autocommit, no ``BEGIN``/``ROLLBACK`` round trips around a request's reads.
    SQLite: a deferred ``BEGIN`` instead of the writers' ``BEGIN IMMEDIATE``, so reads do not
    queue behind writes for the database's one write lock.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{READ_ONLY: True})


def create_sessionmaker(
    engine: AsyncEngine, *, cache: ConfigCache | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions of ``engine``; with ``cache``, their configuration reads go through it."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        info={"config_cache": cache} if cache is not None else None,
    )


def listener_dsn(engine: AsyncEngine) -> str | None:
    """The plain PostgreSQL URL a configuration listener connects to; ``None`` on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends normally, roll back on any exception.

    The one way the application opens a transaction (requests through ``AppState.transaction``,
    background loops, the command line); reads that write nothing use ``AppState.reads``.
    """
    async with sessions() as session, session.begin():
        yield session
