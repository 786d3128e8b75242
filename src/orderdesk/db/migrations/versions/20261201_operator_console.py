"""The operator console: operators and their sessions, order versions, busy mode, sold out.

``orders.version`` starts at 1 for every existing order. ``sold_out`` is configuration that
orders are checked against, so on PostgreSQL it notifies the per-worker caches like the other
configuration tables (migration 0004); ``locations`` already does.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTING_BEFORE = "confirmed_at IS NULL AND timed_out_at IS NULL AND countdown_ends_at IS NOT NULL"
COUNTING = f"substatus = 'awaiting_confirmation' AND {COUNTING_BEFORE}"


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_operators_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
    )
    op.create_index(
        op.f("ix_operators_organization_id"), "operators", ["organization_id"], unique=False
    )
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_sessions_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_operator_sessions_operator_id"),
        "operator_sessions",
        ["operator_id"],
        unique=False,
    )
    op.create_table(
        "sold_out",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_sold_out_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_sold_out_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "location_id", name=op.f("pk_sold_out")),
    )
    op.create_index(op.f("ix_sold_out_location_id"), "sold_out", ["location_id"], unique=False)
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("replayed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_by", sa.String(length=200), nullable=True))
    # The console's orders board filters every organization's orders at once (see
    # orderdesk.core.orders.board): by location, status, created day and booked day, newest first.
    op.create_index("ix_orders_location_created", "orders", ["location_id", "id"], unique=False)
    op.create_index("ix_orders_substatus_created", "orders", ["substatus", "id"], unique=False)
    op.create_index("ix_orders_created_at", "orders", ["created_at"], unique=False)
    op.create_index(
        "ix_orders_booked_day",
        "orders",
        ["booked_day"],
        unique=False,
        postgresql_where=sa.text("booked_day IS NOT NULL"),
        sqlite_where=sa.text("booked_day IS NOT NULL"),
    )
    op.create_index(
        "ix_orders_scheduled_at",
        "orders",
        ["scheduled_at"],
        unique=False,
        postgresql_where=sa.text("scheduled_at IS NOT NULL"),
        sqlite_where=sa.text("scheduled_at IS NOT NULL"),
    )
    # Only orders still waiting for confirmation in the countdown index: a cancelled one (the
    # console cancels restaurant orders) would otherwise stay due forever.
    op.drop_index("ix_orders_countdown", table_name="orders")
    op.create_index(
        "ix_orders_countdown",
        "orders",
        ["countdown_ends_at"],
        unique=False,
        postgresql_where=sa.text(COUNTING),
        sqlite_where=sa.text(COUNTING),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER sold_out_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON sold_out FOR EACH STATEMENT EXECUTE FUNCTION orderdesk_config_changed()"
        )


def downgrade() -> None:
    op.drop_index("ix_orders_countdown", table_name="orders")
    op.create_index(
        "ix_orders_countdown",
        "orders",
        ["countdown_ends_at"],
        unique=False,
        postgresql_where=sa.text(COUNTING_BEFORE),
        sqlite_where=sa.text(COUNTING_BEFORE),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS sold_out_config_changed ON sold_out")
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("paused_by")
        batch.drop_column("paused_until")
        batch.drop_column("paused_at")
    for index in (
        "ix_orders_scheduled_at",
        "ix_orders_booked_day",
        "ix_orders_created_at",
        "ix_orders_substatus_created",
        "ix_orders_location_created",
    ):
        op.drop_index(index, table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("version")
    op.drop_index(op.f("ix_sold_out_location_id"), table_name="sold_out")
    op.drop_table("sold_out")
    op.drop_index(op.f("ix_operator_sessions_operator_id"), table_name="operator_sessions")
    op.drop_table("operator_sessions")
    op.drop_index(op.f("ix_operators_organization_id"), table_name="operators")
    op.drop_table("operators")
