"""Restaurant dialect (keys, clients, options, coupons, zones) and webhook delivery.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:45:07.765734
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_clients_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
    )
    op.create_index(
        "ix_api_clients_organization_id", "api_clients", ["organization_id"], unique=False
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_organization_id", "api_keys", ["organization_id"], unique=False)

    op.create_table(
        "coupon_generators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("gencode", sa.String(length=100), nullable=False),
        sa.Column("discount_perc", sa.Integer(), nullable=False),
        sa.Column("discount_amount", sa.Integer(), nullable=False),
        sa.Column("order_min", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_coupon_generators_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_generators")),
        sa.UniqueConstraint(
            "organization_id", "gencode", name=op.f("uq_coupon_generators_organization_id_gencode")
        ),
    )
    op.create_table(
        "client_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name=op.f("fk_client_tokens_client_id_api_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_client_tokens_token_hash")),
    )
    op.create_index("ix_client_tokens_client_id", "client_tokens", ["client_id"], unique=False)

    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("discount_perc", sa.Integer(), nullable=False),
        sa.Column("discount_amount", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("order_min", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("valid_weekdays", JSON, nullable=False),
        sa.Column("valid_email", sa.String(length=320), nullable=True),
        sa.Column("generator_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generator_id"],
            ["coupon_generators.id"],
            name=op.f("fk_coupons_generator_id_coupon_generators"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_coupons_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint(
            "organization_id", "code", name=op.f("uq_coupons_organization_id_code")
        ),
    )
    op.create_table(
        "delivery_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("fee", sa.Integer(), nullable=False),
        sa.Column("order_min", sa.Integer(), nullable=False),
        sa.Column("polygon", JSON, nullable=True),
        sa.Column("radius_km", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_delivery_zones_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_delivery_zones_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_zones")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_delivery_zones_organization_id_name")
        ),
    )
    op.create_index(
        "ix_delivery_zones_org_position",
        "delivery_zones",
        ["organization_id", "position"],
        unique=False,
    )

    op.create_table(
        "coupon_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_uses_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_coupon_uses_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_uses")),
        sa.UniqueConstraint("order_id", name=op.f("uq_coupon_uses_order_id")),
    )
    op.create_index("ix_coupon_uses_coupon", "coupon_uses", ["coupon_id"], unique=False)

    op.create_table(
        "product_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("uid", sa.String(length=100), nullable=False),
        sa.Column("ext_id", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("min_selectable", sa.Integer(), nullable=False),
        sa.Column("max_selectable", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_product_options_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_product_options_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_options_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_options")),
        sa.UniqueConstraint(
            "organization_id", "uid", name=op.f("uq_product_options_organization_id_uid")
        ),
    )
    op.create_index(
        "ix_product_options_category", "product_options", ["category_id", "position"], unique=False
    )
    op.create_index(
        "ix_product_options_product", "product_options", ["product_id", "position"], unique=False
    )

    op.create_table(
        "option_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=100), nullable=False),
        sa.Column("ext_id", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=100), nullable=False),
        sa.Column("price_operator", sa.String(length=1), nullable=False),
        sa.Column("price_operand", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("checked_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["product_options.id"],
            name=op.f("fk_option_values_option_id_product_options"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_option_values")),
        sa.UniqueConstraint("option_id", "uid", name=op.f("uq_option_values_option_id_uid")),
    )
    op.create_index(
        "ix_option_values_option", "option_values", ["option_id", "position"], unique=False
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("ordering_key", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_outbox_events"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "event_id",
            "subscription_id",
            name=op.f("uq_webhook_deliveries_event_id_subscription_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["state", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_ordering", "webhook_deliveries", ["ordering_key", "id"], unique=False
    )

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_webhook_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(
        "ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"], unique=False
    )

    # New columns of existing tables: plain ADD COLUMN (a batch rebuild of ``products`` on
    # SQLite would drop the search triggers), with server defaults for rows that exist already.
    for table in ("categories", "products"):
        op.add_column(table, sa.Column("description", sa.Text(), nullable=False, server_default=""))
        op.add_column(table, sa.Column("image", sa.String(length=1000), nullable=True))
        op.add_column(table, sa.Column("ext_id", sa.String(length=100), nullable=True))
        op.add_column(table, sa.Column("location_keys", JSON, nullable=False, server_default="[]"))
    op.add_column(
        "order_lines", sa.Column("options_price", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("order_lines", sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    op.add_column("order_lines", sa.Column("snapshot", JSON, nullable=False, server_default="{}"))
    op.add_column("orders", sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("coupon_code", sa.String(length=100), nullable=True))
    op.add_column(
        "orders", sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    for column in (
        "countdown_started_at",
        "countdown_ends_at",
        "confirmed_at",
        "timed_out_at",
        "closed_at",
    ):
        op.add_column("orders", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    pending = sa.text(
        "confirmed_at IS NULL AND timed_out_at IS NULL AND countdown_ends_at IS NOT NULL"
    )
    op.create_index(
        "ix_orders_countdown",
        "orders",
        ["countdown_ends_at"],
        unique=False,
        postgresql_where=pending,
        sqlite_where=pending,
    )
    op.create_index("ix_products_ext_id", "products", ["organization_id", "ext_id"])
    # Marketplace item numbers get their own column: restaurants' products share the table and
    # its primary key, so operator-chosen item ids must not live in it.
    op.add_column("products", sa.Column("item_id", sa.BigInteger(), nullable=True))
    op.create_index("uq_products_item_id", "products", ["item_id"], unique=True)
    op.execute("UPDATE products SET item_id = id WHERE organization_id IS NULL")
    op.create_index("ix_categories_ext_id", "categories", ["organization_id", "ext_id"])


def downgrade() -> None:
    op.drop_index("ix_categories_ext_id", table_name="categories")
    op.drop_index("uq_products_item_id", table_name="products")
    op.drop_column("products", "item_id")
    op.drop_index("ix_products_ext_id", table_name="products")
    op.drop_index("ix_orders_countdown", table_name="orders")
    for column in (
        "closed_at",
        "timed_out_at",
        "confirmed_at",
        "countdown_ends_at",
        "countdown_started_at",
        "paid",
        "coupon_code",
        "scheduled_at",
    ):
        op.drop_column("orders", column)
    op.drop_column("order_lines", "snapshot")
    op.drop_column("order_lines", "notes")
    op.drop_column("order_lines", "options_price")
    for table in ("products", "categories"):
        for column in ("location_keys", "ext_id", "image", "description"):
            op.drop_column(table, column)
    for table in (
        "delivery_attempts",
        "webhook_deliveries",
        "option_values",
        "product_options",
        "coupon_uses",
        "delivery_zones",
        "coupons",
        "client_tokens",
        "coupon_generators",
        "api_keys",
        "api_clients",
    ):
        op.drop_table(table)
