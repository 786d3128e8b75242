"""Order counts per organization, in shards, for list totals that do not count row by row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_counts",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_order_counts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "shard", name=op.f("pk_order_counts")),
    )
    op.execute(
        "INSERT INTO order_counts (organization_id, shard, orders) "
        "SELECT organization_id, 0, COUNT(*) FROM orders GROUP BY organization_id"
    )


def downgrade() -> None:
    op.drop_table("order_counts")
