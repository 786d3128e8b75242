"""Shared fixtures: every test that takes ``state``/``client`` runs on SQLite and on PostgreSQL.

Each pytest run builds its own databases by running the migrations (a SQLite file in a temporary
directory, and a freshly created PostgreSQL database that is dropped at the end). Tests stay
independent by creating their own partners, stores and items with unique ids (``factories``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderdesk.app import create_app
from orderdesk.core.organizations.service import use_password_hasher
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.db.migrate import migrate
from orderdesk.http.state import AppState
from orderdesk.settings import Settings
from tests.openapi.validation import all_mismatches, response_hooks, set_current_test, summary
from tests.s3 import StoreUnderTest, aws_environment, moto_server, store_under_test

# Logins are hashed with argon2id's cheapest parameters in tests: same algorithm and format,
# a thousandth of the cost (production uses the library's recommended parameters).
use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))

PG_ADMIN_URL = os.environ.get("ORDERDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_reachable() -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({exc.__class__.__name__}: {exc})"
    await conn.close()
    return None


async def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database; returns its URL (skips when there is no server)."""
    import asyncpg

    reason = await _pg_reachable()
    if reason:
        pytest.skip(reason)
    name = f"orderdesk_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(kind: str, directory: Path) -> AsyncIterator[str]:
    """A migrated database: "sqlite" (a file in ``directory``) or "postgresql" (dropped after)."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'orderdesk.db'}"
    else:
        url = await create_pg_database()
    try:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        if kind == "postgresql":
            await drop_pg_database(url)


@asynccontextmanager
async def fresh_sessions(
    kind: str, directory: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated database of their own, for core tests whose global tables (places,
    items) must not see what other tests write."""
    async with fresh_database(kind, directory) as url:
        engine = create_engine(url)
        try:
            yield create_sessionmaker(engine)
        finally:
            await engine.dispose()


@asynccontextmanager
async def rolled_back(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work is flushed for the test to see and rolled back after it."""
    async with sessions() as session:
        await session.begin()
        try:
            yield session
        finally:
            await session.rollback()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


class FakeClock:
    """A clock tests move by hand; starts at the real time so booking windows make sense."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture(scope="session")
async def app(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        media_dir=tmp_path_factory.mktemp("media"),
        login_max_failures=5,
        rate_limit_enabled=False,
    )
    application = create_app(settings, background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def state(app: FastAPI) -> AppState:
    result: AppState = app.state.orderdesk
    return result


@pytest.fixture
def clock(state: AppState) -> AsyncIterator[FakeClock]:
    fake = FakeClock()
    previous = state.clock
    state.clock = fake
    yield fake  # type: ignore[misc]
    state.clock = previous


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Every answer it receives is checked against the OpenAPI document (openapi/validation.py)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        event_hooks=response_hooks(app.openapi),
    ) as c:
        yield c


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Mismatches found by the clients' response checks are reported with the test that saw them.
    set_current_test(item.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if all_mismatches():
        terminalreporter.section("answers not as the OpenAPI document describes them", red=True)
        terminalreporter.line(summary())


def pytest_sessionfinish(session: pytest.Session) -> None:
    # With RESPONSE_VALIDATION=collect the tests themselves pass; the run fails here.
    if all_mismatches() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def media_dir(state: AppState) -> Path:
    return state.settings.media_dir


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server for the whole run, with AWS credentials in the environment."""
    with aws_environment(), moto_server() as url:
        yield url


@pytest.fixture(params=["local", "s3"])
def image_store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str
) -> Iterator[StoreUnderTest]:
    """A store of its own for core tests: a fresh directory, or a fresh bucket."""
    settings = Settings(media_dir=tmp_path / "media")
    with store_under_test(request.param, settings, s3_endpoint) as store:
        yield store


@pytest.fixture(params=["local", "s3"])
def served_image_store(
    request: pytest.FixtureRequest, state: AppState, s3_endpoint: str
) -> Iterator[StoreUnderTest]:
    """The app serves this test's images from its media directory, or from a fresh bucket."""
    previous = state.storage
    with store_under_test(request.param, state.settings, s3_endpoint) as store:
        state.storage = store.storage
        try:
            yield store
        finally:
            state.storage = previous
