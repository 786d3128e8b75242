"""Order numbers from per-organization sequences; a trigram index for order text queries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00

PostgreSQL only; SQLite keeps its counter row and scans for text queries. The sequences
themselves are created (and kept ahead of stored numbers) by
``orderdesk.core.orders.numbering.ensure_sequences`` after every migration run, so this revision
only has the index to add.

The order list's ``query`` filter matches words anywhere in ``search_text``
(``LIKE '%word%'``), which no B-tree can serve; a ``pg_trgm`` GIN index can. ``pg_trgm`` ships
with PostgreSQL and is a trusted extension (the database owner may create it). Where it cannot be
created the index is skipped with a warning and the filter scans, as before.
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("orderdesk.migrations")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as exc:
        log.warning(
            "pg_trgm is not available (%s); order text queries will scan", exc.__class__.__name__
        )
        return
    bind.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_orders_search_trgm ON orders "
            "USING gin (search_text gin_trgm_ops)"
        )
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_orders_search_trgm")
