"""The menu importer on a fresh SQLite file and (when reachable) a fresh PostgreSQL database.

Each test makes its own organization inside a transaction that is rolled back at its end, so tests
share the databases without seeing each other's rows.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import fresh_sessions, rolled_back

from orderdesk.core.catalog.importer import (
    UID_PATTERN,
    CategoryInput,
    OptionInput,
    OptionValueInput,
    ProductInput,
    import_menu,
    uid_for_ext_id,
)
from orderdesk.core.catalog.models import Category, OptionValue, Product, ProductOption
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.organizations.models import Location, Organization


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with fresh_sessions(request.param, tmp_path_factory.mktemp("importer")) as made:
        yield made


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with rolled_back(sessions) as s:
        yield s


async def make_restaurant(session: AsyncSession, *locations: str) -> int:
    suffix = secrets.token_hex(4)
    org = Organization(kind="restaurant", key=f"r-{suffix}", title="Trattoria", settings={})
    session.add(org)
    await session.flush()
    for key in locations:
        session.add(
            Location(
                organization_id=org.id,
                key=f"{key}-{suffix}",
                title=key,
                timezone="Europe/Rome",
                settings={},
            )
        )
    await session.flush()
    return org.id


async def location_key(session: AsyncSession, org_id: int, title: str) -> str:
    return str(
        await session.scalar(
            select(Location.key).where(Location.organization_id == org_id, Location.title == title)
        )
    )


def size_option(uid: str = "margherita-size", **extra: Any) -> OptionInput:
    option = OptionInput(
        uid=uid,
        name="Formato",
        type="single",
        min_selectable=1,
        max_selectable=1,
        values=[
            OptionValueInput(uid="normale", name="Normale", checked_default=True),
            OptionValueInput(uid="maxi", name="Maxi", price_operand=300),
        ],
    )
    return replace(option, **extra)


def menu() -> tuple[list[CategoryInput], list[ProductInput]]:
    categories = [
        CategoryInput(
            uid="pizze",
            ext_id="C1",
            name="Pizze",
            options=[
                OptionInput(
                    uid="pizze-impasto",
                    name="Impasto",
                    values=[OptionValueInput(uid="integrale", name="Integrale", price_operand=100)],
                )
            ],
        ),
        CategoryInput(uid="bevande", ext_id="C2", name="Bevande", description="Fresche"),
    ]
    products = [
        ProductInput(
            uid="margherita",
            ext_id="P1",
            category="pizze",
            name="Margherita",
            description="Pomodoro, mozzarella",
            price=750,
            options=[
                size_option(),
                OptionInput(
                    uid="margherita-extra",
                    name="Extra",
                    max_selectable=3,
                    max_quantity=2,
                    values=[
                        OptionValueInput(uid="bufala", name="Bufala", price_operand=200),
                        OptionValueInput(
                            uid="senza-mozzarella",
                            name="Senza mozzarella",
                            price_operator="-",
                            price_operand=50,
                        ),
                    ],
                ),
            ],
        ),
        ProductInput(
            uid="tiramisu", ext_id="P2", category=None, name="Tiramisù", price=550, position=10
        ),
        ProductInput(
            uid="acqua",
            ext_id="P3",
            category="bevande",
            name="Acqua naturale",
            price=200,
            available=False,
        ),
    ]
    return categories, products


CATALOG_TABLES = ("categories", "products", "product_options", "option_values")


async def snapshot(session: AsyncSession, org_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of the organization's catalog rows, ``updated_at`` included."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    for table in CATALOG_TABLES:
        where = (
            "option_id IN (SELECT id FROM product_options WHERE organization_id = :org)"
            if table == "option_values"
            else "organization_id = :org"
        )
        rows = await session.execute(
            text(
                f"SELECT * FROM {table} WHERE {where} "  # noqa: S608
                "ORDER BY id"
            ),
            {"org": org_id},
        )
        result[table] = [tuple(row) for row in rows]
    return result


async def rows_of(session: AsyncSession, model: Any, org_id: int) -> dict[str, Any]:
    """The organization's rows of one kind by uid (values: ``"<option uid>/<uid>"``)."""
    if model is OptionValue:
        found = await session.execute(
            select(OptionValue, ProductOption.uid)
            .join(ProductOption, ProductOption.id == OptionValue.option_id)
            .where(ProductOption.organization_id == org_id)
        )
        return {f"{option}/{value.uid}": value for value, option in found}
    found_rows = await session.scalars(select(model).where(model.organization_id == org_id))
    return {row.uid: row for row in found_rows}


ALL_LABELS = [
    "category pizze",
    "category bevande",
    "product margherita",
    "product tiramisu",
    "product acqua",
    "option pizze-impasto",
    "option margherita-size",
    "option margherita-extra",
    "option_value pizze-impasto/integrale",
    "option_value margherita-size/normale",
    "option_value margherita-size/maxi",
    "option_value margherita-extra/bufala",
    "option_value margherita-extra/senza-mozzarella",
]


async def test_first_import_creates_every_entity(session: AsyncSession) -> None:
    org_id = await make_restaurant(session)
    categories, products = menu()

    report = await import_menu(
        session, org_id, "EUR", categories, products, key="uid", mode="update"
    )

    assert report.created == ALL_LABELS
    assert (report.updated, report.unchanged, report.hidden) == ([], [], [])
    cats = await rows_of(session, Category, org_id)
    prods = await rows_of(session, Product, org_id)
    assert (cats["bevande"].description, cats["bevande"].position, cats["bevande"].ext_id) == (
        "Fresche",
        1,
        "C2",
    )
    margherita = prods["margherita"]
    assert (
        margherita.category_id,
        margherita.price,
        margherita.currency,
        margherita.description,
        margherita.position,
    ) == (cats["pizze"].id, 750, "EUR", "Pomodoro, mozzarella", 0)
    assert (
        prods["tiramisu"].category_id,
        prods["tiramisu"].position,
        prods["tiramisu"].search_text,
    ) == (None, 10, "tiramisu")
    assert prods["acqua"].available is False
    options = await rows_of(session, ProductOption, org_id)
    assert (options["pizze-impasto"].category_id, options["pizze-impasto"].product_id) == (
        cats["pizze"].id,
        None,
    )
    size = options["margherita-size"]
    assert (
        size.product_id,
        size.type,
        size.min_selectable,
        size.max_selectable,
        size.position,
    ) == (margherita.id, "single", 1, 1, 0)
    assert options["margherita-extra"].position == 1
    values = await rows_of(session, OptionValue, org_id)
    minus = values["margherita-extra/senza-mozzarella"]
    assert (minus.price_operator, minus.price_operand, minus.position) == ("-", 50, 1)
    assert values["margherita-size/normale"].checked_default is True


async def test_importing_the_same_menu_twice_changes_nothing(session: AsyncSession) -> None:
    org_id = await make_restaurant(session)
    categories, products = menu()
    await import_menu(session, org_id, "EUR", categories, products, key="uid", mode="update")
    before = await snapshot(session, org_id)

    again = await import_menu(session, org_id, "EUR", *menu(), key="uid", mode="replace")

    assert (again.created, again.updated, again.hidden) == ([], [], [])
    assert again.unchanged == ALL_LABELS
    assert await snapshot(session, org_id) == before


async def test_changed_menu_updates_rows_in_place(session: AsyncSession) -> None:
    org_id = await make_restaurant(session)
    categories, products = menu()
    await import_menu(session, org_id, "EUR", categories, products, key="uid", mode="update")
    before = await rows_of(session, Product, org_id)
    ids = {uid: row.id for uid, row in before.items()}
    stamps = {uid: row.updated_at for uid, row in before.items()}
    session.expunge_all()
    # The size option moves from the margherita to the tiramisù; a value changes its price.
    moved = size_option(
        values=[
            OptionValueInput(uid="normale", name="Normale"),
            OptionValueInput(uid="maxi", name="Maxi", price_operand=350),
        ]
    )
    products[0] = replace(
        products[0], name="Margherità DOP", price=800, options=[products[0].options[1]]
    )
    products[1] = replace(products[1], options=[moved])

    report = await import_menu(
        session, org_id, "CHF", categories, products, key="uid", mode="update"
    )

    assert report.updated == [
        "product margherita",
        "product tiramisu",
        "product acqua",  # all change currency
        "option margherita-extra",  # now the margherita's first option: position 0
        "option margherita-size",
        "option_value margherita-size/normale",
        "option_value margherita-size/maxi",
    ]
    assert report.created == []
    after = await rows_of(session, Product, org_id)
    assert {uid: row.id for uid, row in after.items()} == ids
    margherita = after["margherita"]
    assert (margherita.name, margherita.search_text, margherita.price, margherita.currency) == (
        "Margherità DOP",
        "margherita dop",
        800,
        "CHF",
    )
    assert margherita.updated_at > stamps["margherita"]
    option = (await rows_of(session, ProductOption, org_id))["margherita-size"]
    assert option.product_id == ids["tiramisu"]
    values = await rows_of(session, OptionValue, org_id)
    assert values["margherita-size/maxi"].price_operand == 350
    assert values["margherita-size/normale"].checked_default is False


async def test_replace_hides_what_the_menu_no_longer_has_and_deletes_nothing(
    session: AsyncSession,
) -> None:
    org_id = await make_restaurant(session)
    categories, products = menu()
    await import_menu(session, org_id, "EUR", categories, products, key="uid", mode="update")
    counts = {table: len(rows) for table, rows in (await snapshot(session, org_id)).items()}
    session.expunge_all()
    extra = products[0].options[1]
    smaller = [replace(products[0], options=[replace(extra, values=extra.values[:1])]), products[2]]

    report = await import_menu(
        session, org_id, "EUR", categories[1:], smaller, key="uid", mode="replace"
    )

    assert report.hidden == [
        "category pizze",
        "product tiramisu",
        "option pizze-impasto",
        "option margherita-size",
        "option_value pizze-impasto/integrale",
        "option_value margherita-size/normale",
        "option_value margherita-size/maxi",
        "option_value margherita-extra/senza-mozzarella",
    ]
    assert {table: len(rows) for table, rows in (await snapshot(session, org_id)).items()} == (
        counts
    )
    products_now = await rows_of(session, Product, org_id)
    assert {uid: p.hidden for uid, p in products_now.items()} == {
        "margherita": False,
        "tiramisu": True,
        "acqua": False,
    }
    assert (await rows_of(session, Category, org_id))["pizze"].hidden is True
    values = await rows_of(session, OptionValue, org_id)
    assert values["margherita-extra/senza-mozzarella"].hidden is True
    assert values["margherita-extra/bufala"].hidden is False
    # The product still points at its (now hidden) category: past orders keep their meaning.
    assert products_now["margherita"].category_id is not None

    before = await snapshot(session, org_id)
    again = await import_menu(
        session, org_id, "EUR", categories[1:], smaller, key="uid", mode="replace"
    )
    assert (again.hidden, again.updated, again.created) == ([], [], [])
    assert await snapshot(session, org_id) == before

    session.expunge_all()
    back = await import_menu(session, org_id, "EUR", *menu(), key="uid", mode="replace")
    assert "product tiramisu" in back.updated and back.hidden == []
    assert not any(p.hidden for p in (await rows_of(session, Product, org_id)).values())


async def test_update_mode_leaves_missing_entities_alone(session: AsyncSession) -> None:
    org_id = await make_restaurant(session)
    categories, products = menu()
    await import_menu(session, org_id, "EUR", categories, products, key="uid", mode="update")
    before = await snapshot(session, org_id)

    report = await import_menu(
        session, org_id, "EUR", [], [replace(products[2], position=2)], key="uid", mode="update"
    )

    assert (report.unchanged, report.hidden) == (["product acqua"], [])
    assert await snapshot(session, org_id) == before


async def test_products_may_name_an_existing_category_missing_from_the_input(
    session: AsyncSession,
) -> None:
    org_id = await make_restaurant(session)
    categories, products = menu()
    await import_menu(session, org_id, "EUR", categories, [], key="uid", mode="update")

    report = await import_menu(session, org_id, "EUR", [], products, key="uid", mode="update")

    assert "product margherita" in report.created
    cats = await rows_of(session, Category, org_id)
    assert (await rows_of(session, Product, org_id))["acqua"].category_id == cats["bevande"].id


async def test_replace_never_touches_another_organization(session: AsyncSession) -> None:
    mine, theirs = await make_restaurant(session), await make_restaurant(session)
    await import_menu(session, theirs, "EUR", *menu(), key="uid", mode="update")
    before = await snapshot(session, theirs)

    await import_menu(session, mine, "EUR", [], [], key="uid", mode="replace")
    await import_menu(session, mine, "EUR", *menu(), key="uid", mode="replace")

    assert await snapshot(session, theirs) == before


def pos_menu() -> tuple[list[CategoryInput], list[ProductInput]]:
    """A POS export: everything keyed by ext_id, no uids."""
    size = [
        OptionInput(
            ext_id="SIZE",
            name="Size",
            type="single",
            max_selectable=1,
            values=[
                OptionValueInput(ext_id="S", name="Small"),
                OptionValueInput(ext_id="Large 40 cm", name="Large", price_operand=300),
            ],
        )
    ]
    return (
        [
            CategoryInput(ext_id="CAT-1", name="Pizza"),
            CategoryInput(ext_id="Bibite & Co.", name="Drinks"),
        ],
        [
            ProductInput(
                ext_id="P-100", category="CAT-1", name="Margherita", price=750, options=size
            ),
            ProductInput(
                ext_id="Pizza Nr. 2", category="CAT-1", name="Diavola", price=900, options=size
            ),
            ProductInput(ext_id="Cola 0,33", category="Bibite & Co.", name="Cola", price=300),
        ],
    )


async def test_import_by_ext_id_generates_uids_and_is_idempotent(session: AsyncSession) -> None:
    org_id = await make_restaurant(session)

    first = await import_menu(session, org_id, "EUR", *pos_menu(), key="ext_id", mode="replace")
    before = await snapshot(session, org_id)
    second = await import_menu(session, org_id, "EUR", *pos_menu(), key="ext_id", mode="replace")

    assert len(first.created) == 2 + 3 + 2 + 4
    assert (second.created, second.updated, second.hidden) == ([], [], [])
    assert sorted(second.unchanged) == sorted(first.created)
    assert await snapshot(session, org_id) == before
    products = {p.ext_id: p for p in (await rows_of(session, Product, org_id)).values()}
    assert products["P-100"].uid == "P-100"
    assert re.fullmatch(r"pizza-nr-2-[0-9a-f]{8}", products["Pizza Nr. 2"].uid)
    assert all(UID_PATTERN.fullmatch(p.uid) for p in products.values())
    categories = {c.ext_id: c for c in (await rows_of(session, Category, org_id)).values()}
    assert products["Cola 0,33"].category_id == categories["Bibite & Co."].id
    # Both products carry an option "SIZE": matched per product, uids unique per organization.
    options = await rows_of(session, ProductOption, org_id)
    assert sorted(options) == ["SIZE", "SIZE-2"]
    assert {o.product_id for o in options.values()} == {
        products["P-100"].id,
        products["Pizza Nr. 2"].id,
    }
    values = await rows_of(session, OptionValue, org_id)
    assert sorted(v.split("/")[1] for v in values)[:2] == ["S", "S"]


async def test_import_by_ext_id_updates_matches_and_hides_the_rest(
    session: AsyncSession,
) -> None:
    org_id = await make_restaurant(session)
    categories, products = pos_menu()
    await import_menu(session, org_id, "EUR", categories, products, key="ext_id", mode="replace")
    uids = {p.ext_id: p.uid for p in (await rows_of(session, Product, org_id)).values()}
    session.expunge_all()

    report = await import_menu(
        session,
        org_id,
        "EUR",
        categories,
        [replace(products[0], name="Margherita DOP", price=800), products[2]],
        key="ext_id",
        mode="replace",
    )

    assert report.updated == [
        f"product {uids['P-100']}",
        f"product {uids['Cola 0,33']}",
    ]  # moved up: position 1
    assert f"product {uids['Pizza Nr. 2']}" in report.hidden
    assert "option SIZE-2" in report.hidden
    after = {p.ext_id: p for p in (await rows_of(session, Product, org_id)).values()}
    assert {ext: p.uid for ext, p in after.items()} == uids
    assert (after["P-100"].price, after["Pizza Nr. 2"].hidden) == (800, True)


async def test_generated_uid_avoids_a_uid_already_taken(session: AsyncSession) -> None:
    org_id = await make_restaurant(session)
    await import_menu(
        session,
        org_id,
        "EUR",
        [],
        [ProductInput(uid="margherita", name="Margherita (setup)", price=700)],
        key="uid",
        mode="update",
    )

    await import_menu(
        session,
        org_id,
        "EUR",
        [],
        [ProductInput(ext_id="margherita", name="Margherita (POS)", price=750)],
        key="ext_id",
        mode="update",
    )

    products = await rows_of(session, Product, org_id)
    assert (products["margherita"].name, products["margherita"].ext_id) == (
        "Margherita (setup)",
        None,
    )
    assert (products["margherita-2"].name, products["margherita-2"].ext_id) == (
        "Margherita (POS)",
        "margherita",
    )


async def test_invalid_input_is_reported_whole_and_writes_nothing(session: AsyncSession) -> None:
    org_id = await make_restaurant(session, "centro")
    centro = await location_key(session, org_id, "centro")
    categories, products = menu()
    categories.append(replace(categories[0], location_keys=[centro, "nowhere"]))
    products[1] = replace(products[1], uid="margherita", category="dolci")
    products[2] = replace(products[2], uid=None, options=[size_option()])
    before = await snapshot(session, org_id)

    with pytest.raises(ValidationFailed) as caught:
        await import_menu(session, org_id, "EUR", categories, products, key="uid", mode="replace")

    assert [(e.path, e.type) for e in caught.value.errors] == [
        ("categories[2].uid", "conflict"),
        ("products[1].uid", "conflict"),
        ("products[2].uid", "required"),
        ("categories[2].options[0].uid", "conflict"),  # option uids: unique per organization
        ("products[2].options[0].uid", "conflict"),
        ("products[1].category", "not_found"),
        ("categories[2].location_keys[1]", "not_found"),
    ]
    assert caught.value.errors[1].message == (
        "duplicate uid margherita; first used at products[0].uid"
    )
    assert await snapshot(session, org_id) == before


async def test_location_keys_are_stored(session: AsyncSession) -> None:
    org_id = await make_restaurant(session, "centro", "navigli")
    centro = await location_key(session, org_id, "centro")
    _, products = menu()

    await import_menu(
        session,
        org_id,
        "EUR",
        [],
        [replace(products[1], location_keys=[centro])],
        key="uid",
        mode="update",
    )

    assert (await rows_of(session, Product, org_id))["tiramisu"].location_keys == [centro]


async def test_statements_do_not_grow_with_the_menu(session: AsyncSession) -> None:
    engine: Any = session.bind
    counts: list[int] = []
    for size in (5, 50):
        org_id = await make_restaurant(session)
        products = [
            ProductInput(
                uid=f"p{n}", name=f"Pizza {n}", price=700 + n, options=[size_option(f"p{n}-size")]
            )
            for n in range(size)
        ]
        statements: list[str] = []

        def count(
            _conn: Any, _cursor: Any, statement: str, *_args: Any, into: list[str] = statements
        ) -> None:
            into.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await import_menu(session, org_id, "EUR", [], products, key="uid", mode="replace")
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        counts.append(len(statements))

    assert counts[0] == counts[1]
    assert counts[1] <= 10


def test_ext_id_that_is_a_valid_uid_is_the_uid() -> None:
    assert uid_for_ext_id("P-100", set()) == "P-100"
    assert uid_for_ext_id("a.b~c_d", set()) == "a.b~c_d"


def test_other_ext_ids_become_a_slug_with_a_stable_hash() -> None:
    first = uid_for_ext_id("Crème brûlée #7", set())
    assert re.fullmatch(r"creme-brulee-7-[0-9a-f]{8}", first)
    assert uid_for_ext_id("Crème brûlée #7", set()) == first
    assert uid_for_ext_id("Creme Brulee 7", set()) != first
    assert re.fullmatch(r"[0-9a-f]{8}", uid_for_ext_id("日本", set()))
    long = uid_for_ext_id("x " * 200, set())
    assert len(long) <= 100 and UID_PATTERN.fullmatch(long)


def test_a_taken_uid_gets_a_numbered_suffix() -> None:
    taken = {"cola", "cola-2"}
    assert uid_for_ext_id("cola", taken) == "cola-3"
    assert "cola-3" in taken
    assert len(uid_for_ext_id("z" * 100, {"z" * 100})) == 100
