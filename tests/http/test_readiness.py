"""``GET /ready`` is 503 unless the database answers, its schema is at the latest packaged
migration and the media store takes writes; each part says ``"ok"`` or what is wrong.

The schema check matters on deployments: an instance started against a database that was not
(or not yet) migrated, or was restored from an older backup, must not receive traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from tests.conftest import create_pg_database, drop_pg_database, fresh_database
from tests.openapi.validation import response_hooks
from tests.servers import free_port

from orderdesk.app import create_app
from orderdesk.db.engine import create_engine
from orderdesk.db.migrate import migrate
from orderdesk.http.readiness import PackagedMigrations
from orderdesk.settings import Settings

MIGRATIONS = PackagedMigrations.load()


@asynccontextmanager
async def _served(database_url: str, media: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an application of its own on ``database_url``, answers checked against the
    OpenAPI document (the 503 included)."""
    app = create_app(
        Settings(database_url=database_url, media_dir=media, rate_limit_enabled=False),
        background=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            event_hooks=response_hooks(app.openapi),
        ) as client,
    ):
        yield client


async def _set_versions(database_url: str, versions: list[str]) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM alembic_version"))
            for version in versions:
                await connection.execute(
                    text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version}
                )
    finally:
        await engine.dispose()


async def test_ready_when_database_schema_and_storage_are_usable(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "schema": "ok",
        "storage": "ok",
    }


def test_the_head_is_the_latest_packaged_revision() -> None:
    assert MIGRATIONS.head in MIGRATIONS.known
    assert len(MIGRATIONS.known) > 1


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_a_schema_behind_the_latest_migration_is_not_ready(kind: str, tmp_path: Path) -> None:
    older = sorted(MIGRATIONS.known - {MIGRATIONS.head})[-1]
    async with (
        fresh_database(kind, tmp_path) as url,
        _served(url, tmp_path / "media") as client,
    ):
        assert (await client.get("/ready")).status_code == 200

        await _set_versions(url, [older])
        behind = await client.get("/ready")
        assert behind.status_code == 503, behind.text
        assert behind.json()["status"] == "unavailable"
        assert behind.json()["database"] == "ok"
        assert behind.json()["storage"] == "ok"
        schema = behind.json()["schema"]
        assert older in schema and MIGRATIONS.head in schema and "orderdesk migrate" in schema

        # Migrated by a newer release than this one: not the schema this code was written for.
        await _set_versions(url, ["9999_from_the_future"])
        ahead = await client.get("/ready")
        assert ahead.status_code == 503
        assert "does not know" in ahead.json()["schema"]

        await _set_versions(url, [])
        empty = await client.get("/ready")
        assert empty.status_code == 503
        assert empty.json()["schema"].startswith("no migration applied")

        # Once the database is at the latest revision, it is ready again with no restart.
        await _set_versions(url, [MIGRATIONS.head])
        again = await client.get("/ready")
        assert again.status_code == 200, again.text
        assert again.json()["schema"] == "ok"


async def test_a_database_without_migrations_is_not_ready(tmp_path: Path) -> None:
    async with _served(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "media") as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["database"] == "ok"
    assert "never migrated" in response.json()["schema"]


@pytest.mark.postgres
async def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    async with _served(closed, tmp_path / "media") as client:
        response = await client.get("/ready")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] != "ok"
    assert body["schema"].startswith("unknown")
    assert body["storage"] == "ok"


@pytest.mark.postgres
async def test_a_database_dropped_while_serving_is_not_ready(tmp_path: Path) -> None:
    url = await create_pg_database()
    try:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
        async with _served(url, tmp_path / "media") as client:
            assert (await client.get("/ready")).status_code == 200
            await drop_pg_database(url)
            response = await client.get("/ready")
            assert response.status_code == 503, response.text
            assert response.json()["database"] != "ok"
            assert response.json()["schema"].startswith("unknown")
    finally:
        await drop_pg_database(url)
