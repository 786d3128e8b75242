"""Outages are told from defects by the exceptions the real drivers raise, not by made-up ones."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from orderdesk.db import engine as engine_module
from orderdesk.db.engine import create_engine
from orderdesk.db.errors import connection_failure, is_unavailable, sqlite_problem

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


async def _raised(coroutine: object) -> BaseException:
    try:
        await coroutine  # type: ignore[misc]
    except Exception as exc:
        return exc
    raise AssertionError("no exception was raised")


async def test_a_pool_that_stays_busy_for_the_whole_wait_is_unavailable(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, pool_timeout=0.2)
    try:
        async with engine.connect():
            exc = await _raised(engine.connect().__aenter__())
        assert is_unavailable(exc), repr(exc)
    finally:
        await engine.dispose()


async def test_a_refused_connection_is_unavailable() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/none")
    try:
        exc = await _raised(engine.connect().__aenter__())
        assert is_unavailable(exc), repr(exc)
    finally:
        await engine.dispose()


async def test_a_defect_in_a_statement_is_not_an_outage(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            missing = await _raised(connection.execute(text("SELECT * FROM no_such_table")))
        async with engine.connect() as connection:
            syntax = await _raised(connection.execute(text("SELEKT 1")))
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TEMPORARY TABLE once (id integer PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO once VALUES (1)"))
            duplicate = await _raised(connection.execute(text("INSERT INTO once VALUES (1)")))
        assert not any(is_unavailable(exc) for exc in (missing, syntax, duplicate))
    finally:
        await engine.dispose()


@POSTGRES_ONLY
async def test_a_connection_killed_by_the_server_is_unavailable(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as victim, engine.connect() as admin:
            pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            exc = await _raised(victim.execute(text("SELECT 1")))
        assert is_unavailable(exc), repr(exc)
    finally:
        await engine.dispose()


@POSTGRES_ONLY
async def test_an_idle_pooled_connection_killed_meanwhile_is_replaced_unseen(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as first:
            pid = (await first.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = create_engine(database_url)
        try:
            async with admin.connect() as killer:
                await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await admin.dispose()
        monkeypatch.setattr(engine_module, "PING_IDLE_AFTER", 0.0)
        async with engine.connect() as again:
            fresh = (await again.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert fresh != pid
    finally:
        await engine.dispose()


@POSTGRES_ONLY
async def test_a_connection_in_steady_use_is_not_pinged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = 0
    original = AsyncAdapt_asyncpg_connection.ping

    def counting(self: AsyncAdapt_asyncpg_connection) -> None:
        nonlocal pings
        pings += 1
        original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting)
    engine = create_engine(database_url, pool_size=1)
    try:
        for _ in range(5):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert pings == 0
        monkeypatch.setattr(engine_module, "PING_IDLE_AFTER", 0.0)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        assert pings == 1
    finally:
        await engine.dispose()


@POSTGRES_ONLY  # SQLite's single writer cannot deadlock
async def test_a_deadlock_rolls_back_one_side_as_unavailable(database_url: str) -> None:
    engine = create_engine(database_url)
    update = text("UPDATE deadlock_probe SET n = 1 WHERE id = :id")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE deadlock_probe (id int, n int)"))
            await connection.execute(text("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)"))
        first_locked, second_locked = asyncio.Event(), asyncio.Event()

        async def cross(
            mine: int, theirs: int, locked: asyncio.Event, other: asyncio.Event
        ) -> BaseException | None:
            try:
                async with engine.begin() as connection:
                    await connection.execute(update, {"id": mine})
                    locked.set()
                    await other.wait()
                    await connection.execute(update, {"id": theirs})
            except Exception as exc:
                return exc
            return None

        outcomes = await asyncio.gather(
            cross(1, 2, first_locked, second_locked), cross(2, 1, second_locked, first_locked)
        )
        failures = [exc for exc in outcomes if exc is not None]
        assert len(failures) == 1 and is_unavailable(failures[0]), outcomes
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS deadlock_probe"))
        await engine.dispose()


async def test_sqlite_locked_past_its_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    holder, waiter = create_engine(url), create_engine(url)

    @event.listens_for(waiter.sync_engine, "connect")
    def _impatient(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")  # after the engine's own 30 s

    try:
        async with holder.begin() as writing:
            await writing.execute(text("CREATE TABLE t (id integer)"))
        async with holder.begin() as writing:
            await writing.execute(text("INSERT INTO t VALUES (1)"))
            async with waiter.connect() as blocked:  # BEGIN IMMEDIATE is what waits
                exc = await _raised(blocked.execute(text("INSERT INTO t VALUES (2)")))
        assert is_unavailable(exc), repr(exc)
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_a_failing_statement_is_not_reported_as_an_unusable_database(tmp_path: Path) -> None:
    """Only failures to reach or open the database get the one-line "cannot connect" report;
    a defect keeps its traceback."""
    url = f"sqlite:///{tmp_path / 'statement.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            failure = await _raised(conn.execute(text("SELECT * FROM no_such_table")))
    finally:
        await engine.dispose()
    assert connection_failure(url, failure) is None
    assert connection_failure("postgresql://u:pw@db:5432/x", ValueError("pw")) is None


def test_a_usable_sqlite_location_has_no_problem(tmp_path: Path) -> None:
    assert sqlite_problem(f"sqlite:///{tmp_path / 'fine.db'}") is None
    assert sqlite_problem("sqlite:///:memory:") is None
    assert sqlite_problem("postgresql://u@db/x") is None
    assert sqlite_problem(f"sqlite:///{tmp_path}") == (
        f"cannot open SQLite database {tmp_path}: {tmp_path} is a directory"
    )
