"""Subscriptions disabled for failing, and when an operator turned one back on.

``disabled_at`` is set by the background loop when every delivery of a subscription has been
dead for days; ``enabled_at`` by ``orderdesk webhooks enable``, so that failures from before it
do not disable the subscription again at once. The index finds one subscription's deliveries
in a given state without scanning the delivery log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_subscription",
        "webhook_deliveries",
        ["subscription_id", "state"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_subscription", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("enabled_at")
        batch.drop_column("disabled_at")
