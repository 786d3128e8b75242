"""Configuration tables announce their changes, so worker processes can cache them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:00:00

PostgreSQL only. A statement-level trigger on each table whose rows workers cache
(``orderdesk.db.cache``) calls ``pg_notify('orderdesk_config', <table>)``; the notification is
delivered when the writing transaction commits and not at all if it rolls back. Tokens are
cached too, but only their change (revocation) or removal matters: a new token is simply not in
any cache yet, so their ``INSERT`` notifies nobody and logins do not empty the caches. Places
(geocoded addresses, cached by id) likewise: a new address is inserted by the geocoding of a
customer's address and must not empty every cache.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANY_CHANGE = (
    "organizations",
    "locations",
    "api_users",
    "api_keys",
    "api_clients",
    "categories",
    "products",
    "product_options",
    "option_values",
    "capacity_overrides",
    "delivery_zones",
)
CHANGE_OR_REMOVAL = ("api_tokens", "client_tokens", "places")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION orderdesk_config_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('orderdesk_config', TG_TABLE_NAME);
            RETURN NULL;
        END $$
    """)
    for table in ANY_CHANGE + CHANGE_OR_REMOVAL:
        events = (
            "INSERT OR UPDATE OR DELETE OR TRUNCATE"
            if table in ANY_CHANGE
            else "UPDATE OR DELETE OR TRUNCATE"
        )
        op.execute(
            f"CREATE TRIGGER {table}_config_changed AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION orderdesk_config_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ANY_CHANGE + CHANGE_OR_REMOVAL:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_config_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS orderdesk_config_changed()")
