"""Databases and a fake geocoding server for the fulfilment tests.

The fulfilment tests get their own databases (a SQLite file and, when the server is reachable, a
fresh PostgreSQL database), because the gazetteer searches every place in the table and must not
see places other tests create. Each test runs in a transaction that is rolled back at its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import create_pg_database, drop_pg_database
from tests.core.fulfilment.support import FakeGeocoder

from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.db.migrate import migrate


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fulfilment') / 'fulfilment.db'}"
    else:
        url = await create_pg_database()
    engine = create_engine(url)
    await migrate(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()
    if request.param == "postgresql":
        await drop_pg_database(url)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        await s.begin()
        try:
            yield s
        finally:
            await s.rollback()


@pytest.fixture
async def fake_geocoder() -> AsyncIterator[FakeGeocoder]:
    fake = FakeGeocoder()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        fake.release.set()
        server.close()
        await server.wait_closed()
