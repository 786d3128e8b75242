"""Applying setup documents, on SQLite and (when reachable) on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.conftest import create_pg_database, drop_pg_database

from orderdesk.core.catalog.models import Category, Product
from orderdesk.core.catalog.search import search_product_ids
from orderdesk.core.fulfilment.models import Place
from orderdesk.core.organizations.models import (
    ApiUser,
    Location,
    Organization,
    WebhookSubscription,
)
from orderdesk.core.organizations.service import password_matches
from orderdesk.core.scheduling.models import CapacityOverride
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.db.migrate import migrate
from orderdesk.setup import (
    ApplyReport,
    SetupInvalid,
    apply_file,
    apply_setup,
    demo_document,
    parse_setup,
)

# Every table the partner sections of the setup document write.
SETUP_TABLES = (
    "organizations",
    "api_users",
    "webhook_subscriptions",
    "locations",
    "capacity_overrides",
    "categories",
    "products",
    "places",
)


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every setup table, all columns, in a stable order."""
        result: dict[str, list[tuple[Any, ...]]] = {}
        async with self.engine.connect() as conn:
            for table in SETUP_TABLES:
                rows = await conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
                result[table] = sorted((tuple(row) for row in rows), key=repr)
        return result


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """The URL of an empty database (not migrated: ``apply_file`` must do that itself)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'setup.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database with an engine for looking at it (and for ``apply_setup``)."""
    engine = create_engine(database_url, pool_size=2)
    try:
        await migrate(engine)
        yield Database(database_url, engine, create_sessionmaker(engine))
    finally:
        await engine.dispose()


def acme_document() -> dict[str, Any]:
    return {
        "version": 1,
        "partners": [
            {
                "name": "acme",
                "title": "ACME Furniture",
                "users": [{"login": "api@acme.example", "password": "a long password"}],
                "webhooks": [
                    {"url": "https://hooks.acme.example/orderdesk", "secret": "whsec-acme"}
                ],
                "stores": [
                    {
                        "id": "acme-riga",
                        "title": "ACME Riga",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 2, "1217": 2, "1721": 1},
                        "masters_on": [{"date": "2026-12-24", "timeslot": "1721", "masters": 0}],
                    },
                    {
                        "id": "acme-berlin",
                        "title": "ACME Berlin",
                        "timezone": "Europe/Berlin",
                        "masters": {"0712": 1, "1217": 1, "1721": 1},
                    },
                ],
            }
        ],
        "items": [
            {
                "id": 1001,
                "title": "PAX Wardrobe 150x236",
                "category": "wardrobes",
                "delivery": True,
                "assembly": True,
                "delivery_price": 2500,
                "assembly_price": 6900,
                "currency": "EUR",
            },
            {
                "id": 1002,
                "title": "Étagère Größe L",
                "category": "shelving",
                "delivery": True,
                "delivery_price": 1500,
                "currency": "EUR",
            },
        ],
        "places": [
            {
                "place_id": "via-roma-1-milano",
                "street": "Via Roma",
                "number": "1",
                "city": "Milano",
                "province": "MI",
                "zip": "20121",
                "country": "IT",
                "lat": 45.4642,
                "lng": 9.19,
            }
        ],
    }


ACME_LABELS = [
    "partner acme",
    "user api@acme.example",
    "webhook acme https://hooks.acme.example/orderdesk",
    "store acme-riga",
    "store acme-berlin",
    "masters_on acme-riga 2026-12-24 1721",
    "category wardrobes",
    "category shelving",
    "item 1001",
    "item 1002",
    "place via-roma-1-milano",
]


async def one(db: Database, stmt: Any) -> Any:
    async with db.sessions() as session:
        return (await session.scalars(stmt)).one()


async def test_first_apply_creates_every_declared_entity(db: Database) -> None:
    report = await apply_file(db.url, acme_document())

    assert report.created == ACME_LABELS
    assert (report.updated, report.unchanged) == ([], [])
    org = await one(db, select(Organization))
    assert (org.kind, org.key, org.title) == ("partner", "acme", "ACME Furniture")
    user = await one(db, select(ApiUser))
    assert user.organization_id == org.id
    assert password_matches(user.password_hash, "a long password")
    assert user.password_hash.startswith("$argon2id$")
    riga = await one(db, select(Location).where(Location.key == "acme-riga"))
    assert (riga.organization_id, riga.title, riga.timezone, riga.slot_capacity) == (
        org.id,
        "ACME Riga",
        "Europe/Riga",
        {"0712": 2, "1217": 2, "1721": 1},
    )
    override = await one(db, select(CapacityOverride))
    assert (override.location_id, override.day, override.slot, override.capacity) == (
        riga.id,
        date(2026, 12, 24),
        "1721",
        0,
    )
    assert override.set_by == "setup" and override.set_at is not None
    hook = await one(db, select(WebhookSubscription))
    assert (hook.organization_id, hook.url, hook.secret, hook.active) == (
        org.id,
        "https://hooks.acme.example/orderdesk",
        "whsec-acme",
        True,
    )
    shelf = await one(db, select(Product).where(Product.item_id == 1002))
    shelving = await one(db, select(Category).where(Category.uid == "shelving"))
    assert (shelf.organization_id, shelf.uid, shelf.name, shelf.price, shelf.currency) == (
        None,
        "1002",
        "Étagère Größe L",
        0,
        "EUR",
    )
    assert (shelf.category_id, shelf.services, shelf.search_text) == (
        shelving.id,
        {"delivery": 1500},
        "etagere grosse l",
    )
    assert (shelving.organization_id, shelving.name) == (None, "shelving")
    place = await one(db, select(Place))
    assert (place.city, place.lat, place.lng, place.search_text) == (
        "Milano",
        45.4642,
        9.19,
        "via roma 1 milano 20121 mi",
    )


async def test_apply_file_migrates_a_fresh_database(database_url: str) -> None:
    report = await apply_file(database_url, acme_document())

    assert report.created == ACME_LABELS
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            assert (
                await session.scalar(select(Location.title).where(Location.key == "acme-berlin"))
                == "ACME Berlin"
            )
    finally:
        await engine.dispose()


async def test_second_apply_changes_nothing(db: Database) -> None:
    await apply_file(db.url, acme_document())
    before = await db.snapshot()

    report = await apply_file(db.url, acme_document())

    assert (report.created, report.updated) == ([], [])
    assert report.unchanged == ACME_LABELS
    assert await db.snapshot() == before


async def test_changed_document_updates_in_place(db: Database) -> None:
    await apply_file(db.url, acme_document())
    riga_before = await one(db, select(Location).where(Location.key == "acme-riga"))
    doc = acme_document()
    partner = doc["partners"][0]
    partner["title"] = "ACME Möbel"
    partner["users"][0]["password"] = "a new long password"
    partner["webhooks"][0]["secret"] = "whsec-rotated"
    partner["stores"][0]["masters"]["1721"] = 3
    partner["stores"][0]["masters_on"][0]["masters"] = 1
    del partner["stores"][1]  # missing from the document: left alone
    doc["items"][0].update(title="PAX Wardrobe 200x236", assembly=False)
    doc["items"][1]["category"] = "bookcases"
    doc["places"][0]["lat"] = 45.4643

    report = await apply_file(db.url, doc)

    assert report.created == ["category bookcases"]
    assert report.updated == [
        "partner acme",
        "user api@acme.example",
        "webhook acme https://hooks.acme.example/orderdesk",
        "store acme-riga",
        "masters_on acme-riga 2026-12-24 1721",
        "item 1001",
        "item 1002",
        "place via-roma-1-milano",
    ]
    assert report.unchanged == ["category wardrobes"]
    riga = await one(db, select(Location).where(Location.key == "acme-riga"))
    assert riga.id == riga_before.id
    assert riga.slot_capacity == {"0712": 2, "1217": 2, "1721": 3}
    assert riga.updated_at > riga_before.updated_at
    assert (await one(db, select(Location).where(Location.key == "acme-berlin"))).title == (
        "ACME Berlin"
    )
    assert (await one(db, select(Organization))).title == "ACME Möbel"
    user = await one(db, select(ApiUser))
    assert password_matches(user.password_hash, "a new long password")
    assert (await one(db, select(WebhookSubscription))).secret == "whsec-rotated"
    assert (await one(db, select(CapacityOverride))).capacity == 1
    wardrobe = await one(db, select(Product).where(Product.item_id == 1001))
    assert (wardrobe.name, wardrobe.services, wardrobe.search_text) == (
        "PAX Wardrobe 200x236",
        {"delivery": 2500},
        "pax wardrobe 200x236",
    )
    shelf = await one(db, select(Product).where(Product.item_id == 1002))
    bookcases = await one(db, select(Category).where(Category.uid == "bookcases"))
    assert shelf.category_id == bookcases.id
    assert (await one(db, select(Place))).lat == 45.4643


async def test_conflicting_document_changes_nothing_at_all(db: Database) -> None:
    await apply_file(db.url, acme_document())
    before = await db.snapshot()
    rival = acme_document()
    partner = rival["partners"][0]
    partner.update(name="rival", title="Rival Furniture")
    partner["stores"][0]["title"] = "Stolen store"
    partner["stores"][1]["id"] = "rival-berlin"
    rival["items"].append(
        {"id": 2001, "title": "New chair", "category": "chairs", "currency": "EUR"}
    )

    with pytest.raises(SetupInvalid) as caught:
        await apply_file(db.url, rival)

    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("$.partners[0].users[0].login", 'login already belongs to partner "acme"'),
        ("$.partners[0].stores[0].id", 'store id already belongs to partner "acme"'),
    ]
    assert await db.snapshot() == before


async def test_item_ids_are_independent_of_other_products_ids(db: Database) -> None:
    """A restaurant product whose primary key equals an item number does not block the item."""
    async with db.sessions() as session:
        bella = Organization(kind="restaurant", key="bella", title="Pizzeria Bella", settings={})
        session.add(bella)
        await session.flush()
        session.add(
            Product(
                id=1002,
                organization_id=bella.id,
                uid="margherita",
                name="Margherita",
                price=750,
                currency="EUR",
            )
        )
        await session.commit()

    await apply_file(db.url, acme_document())

    async with db.sessions() as session:
        item = await session.scalar(select(Product).where(Product.item_id == 1002))
        assert item is not None and item.organization_id is None and item.id != 1002
        pizza = await session.get(Product, 1002)
        assert pizza is not None and pizza.name == "Margherita"


async def test_dry_run_reports_but_changes_nothing(db: Database) -> None:
    before = await db.snapshot()

    report = await apply_file(db.url, acme_document(), dry_run=True)

    assert report.dry_run
    assert report.created == ACME_LABELS
    assert report.render().startswith("Dry run: nothing was saved.")
    assert await db.snapshot() == before


async def test_apply_setup_leaves_the_transaction_to_the_caller(db: Database) -> None:
    async with db.sessions() as session:
        report = await apply_setup(session, parse_setup(acme_document()))
        assert await session.scalar(select(Product.name).where(Product.item_id == 1001)) == (
            "PAX Wardrobe 150x236"
        )
        await session.rollback()

    assert report.created == ACME_LABELS
    assert await db.snapshot() == {table: [] for table in (await db.snapshot())}


async def test_invalid_document_does_not_open_the_database(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    doc = acme_document()
    doc["items"][0]["id"] = "1001"

    with pytest.raises(SetupInvalid):
        await apply_file(f"sqlite:///{path}", doc)

    assert not path.exists()


async def test_demo_document_applies_idempotently_and_is_searchable(db: Database) -> None:
    doc = demo_document()
    items = len(doc["items"])  # type: ignore[arg-type]

    first = await apply_file(db.url, doc)
    snapshot = await db.snapshot()
    second = await apply_file(db.url, doc)

    assert sum(entry.startswith("item ") for entry in first.created) == items
    assert (second.created, second.updated) == ([], [])
    assert sorted(second.unchanged) == sorted(first.created)
    assert await db.snapshot() == snapshot
    async with db.sessions() as session:
        found = await search_product_ids(session, "grosse", organization_id=None, limit=50)
        names = (await session.scalars(select(Product.name).where(Product.id.in_(found)))).all()
    assert found and all("Größe" in name for name in names)


async def test_catalog_is_loaded_per_kind_not_per_item(db: Database) -> None:
    doc = parse_setup(demo_document())
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.sessions() as session:
            await apply_setup(session, doc)
            await session.rollback()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(doc.items) > 200
    assert sum(len(r.products) for r in doc.restaurants) >= 20
    # About 8 kinds for the partner sections and 13 for the restaurant (its menu included).
    assert len(selects) <= 24
    assert len(statements) < 100


async def test_item_ids_do_not_collide_with_later_products(db: Database) -> None:
    await apply_file(db.url, acme_document())

    async with db.sessions() as session:
        product = Product(organization_id=None, uid="later", name="Later", currency="EUR")
        session.add(product)
        await session.flush()
        assert product.item_id is None
        numbers = set(
            await session.scalars(select(Product.item_id).where(Product.item_id.is_not(None)))
        )
        assert numbers == {1001, 1002}
        await session.rollback()


def test_report_renders_changes_and_counts_the_rest() -> None:
    report = ApplyReport(
        created=["partner acme", *(f"item {n}" for n in range(1, 26))],
        updated=["store acme-riga"],
        unchanged=["category beds", "category sofas", "place via-roma-1-milano"],
    )

    lines = report.render().splitlines()

    assert lines[0] == "Created: 1 partner, 25 items"
    assert lines[1:3] == ["  partner acme", "  item 1"]
    assert "  ... and 5 more items" in lines
    assert "  item 21" not in lines
    assert lines[-3:] == [
        "Updated: 1 store",
        "  store acme-riga",
        "Left alone (unchanged): 2 categories, 1 place",
    ]
