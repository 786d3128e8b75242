"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from orderdesk.db.engine import create_engine
from orderdesk.db.migrate import migrate
from orderdesk.db.models import Base

# Search structures that live only in migrations, one engine each.
_ENGINE_ONLY = ("product_search", "search_vector", "ix_products_search", "ix_orders_search_trgm")


def _relevant(diff: Any) -> bool:
    return not any(name in repr(diff) for name in _ENGINE_ONLY)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _relevant(d)]


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        await migrate(engine)
    finally:
        await engine.dispose()
