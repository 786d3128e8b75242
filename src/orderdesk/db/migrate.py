"""Apply pending Alembic migrations from any command, safely from several processes at once.

On PostgreSQL the upgrade runs under a session-level advisory lock, so two servers starting
against one fresh database do not both try to create the tables.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderdesk.core.orders.numbering import ensure_sequences

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x6F72_6465_7264  # "orderd"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
    ensure_sequences(connection)


async def migrate(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
            await conn.commit()
        try:
            await conn.run_sync(_upgrade)
            await conn.commit()
        finally:
            if postgres:
                await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                await conn.commit()
