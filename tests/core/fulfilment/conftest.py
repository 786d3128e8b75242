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
from tests.conftest import fresh_sessions, rolled_back
from tests.core.fulfilment.support import FakeGeocoder


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with fresh_sessions(request.param, tmp_path_factory.mktemp("fulfilment")) as made:
        yield made


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with rolled_back(sessions) as s:
        yield s


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
