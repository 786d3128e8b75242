"""Alembic environment: always driven with a live connection by ``orderdesk.db.migrate``."""

from __future__ import annotations

from alembic import context

from orderdesk.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `orderdesk migrate`, which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
