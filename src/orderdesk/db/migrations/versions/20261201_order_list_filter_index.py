"""The order list's store + status filter gets an index that also gives newest-first order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00

``(organization_id, location_id, status)`` could not serve the filter, which matched status or
substatus, nor its order by id. The filter now matches substatuses only (every status is a set
of substatuses), and ``(organization_id, location_id, substatus, id)`` serves it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_orders_org_location_status", table_name="orders")
    op.create_index(
        "ix_orders_org_location_substatus",
        "orders",
        ["organization_id", "location_id", "substatus", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_orders_org_location_substatus", table_name="orders")
    op.create_index(
        "ix_orders_org_location_status", "orders", ["organization_id", "location_id", "status"]
    )
