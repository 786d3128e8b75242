"""Who set a capacity override and when: the console's capacity calendar shows it, since
operators and the setup document both write these rows.

Rows from before stay NULL in both columns (not known).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("capacity_overrides") as batch:
        batch.add_column(sa.Column("set_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("set_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("capacity_overrides") as batch:
        batch.drop_column("set_at")
        batch.drop_column("set_by")
