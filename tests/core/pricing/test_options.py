"""Option choices on an order line: price operators, selection rules, and loading from the catalog.

The pricing tests are pure (catalog rows built in memory); the loading tests run on a fresh SQLite
file and a fresh PostgreSQL database, each built by the migrations.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.conftest import fresh_sessions, rolled_back

from orderdesk.core.catalog.models import Category, OptionValue, Product, ProductOption
from orderdesk.core.catalog.options import OptionWithValues, options_for_products
from orderdesk.core.errors import ErrorCollector, FieldError
from orderdesk.core.organizations.models import Organization
from orderdesk.core.pricing.options import OptionChoice, ValueChoice, price_options
from orderdesk.core.pricing.service import PricedLine

LINE = "lines.0"
BASE = 750
T = TypeVar("T")


def _value(
    uid: str, op: str = "+", operand: int = 0, *, hidden: bool = False, ext_id: str | None = None
) -> OptionValue:
    return OptionValue(
        uid=uid,
        name=uid.title(),
        price_operator=op,
        price_operand=operand,
        hidden=hidden,
        position=0,
        checked_default=False,
        ext_id=ext_id,
    )


def _option(
    uid: str,
    *values: OptionValue,
    type_: str = "multiple",
    min_sel: int = 0,
    max_sel: int = 5,
    max_qty: int = 3,
    hidden: bool = False,
) -> OptionWithValues:
    option = ProductOption(
        uid=uid,
        name=uid.title(),
        type=type_,
        min_selectable=min_sel,
        max_selectable=max_sel,
        max_quantity=max_qty,
        hidden=hidden,
        position=0,
    )
    return OptionWithValues(option, list(values))


def _choice(uid: str, *values: tuple[str, int]) -> OptionChoice:
    return OptionChoice(uid, [ValueChoice(v, q) for v, q in values])


def _price(
    options: list[OptionWithValues], *choices: OptionChoice, base: int = BASE
) -> tuple[int, list[dict[str, Any]], list[FieldError]]:
    errors = ErrorCollector()
    price, snapshot = price_options(base, options, choices, errors, line_path=LINE)
    return price, snapshot, errors.errors


def _only_error(options: list[OptionWithValues], *choices: OptionChoice) -> FieldError:
    _, _, errors = _price(options, *choices)
    assert len(errors) == 1, errors
    return errors[0]


EXTRAS = _option(
    "extra",
    _value("mozz", "+", 100, ext_id="X-MOZ"),
    _value("ham", "+", 150),
    _value("no-cheese", "-", 80),
)
SIZE = _option(
    "size",
    _value("small", "=", 600),
    _value("large", "=", 1100),
    _value("half", "=", 500),
    type_="multiple",
    max_sel=2,
    max_qty=2,
)


# --- prices -----------------------------------------------------------------------------------


def test_no_choice_keeps_the_product_price() -> None:
    assert _price([EXTRAS]) == (0, [], [])


def test_plus_adds_operand_times_quantity() -> None:
    price, _, errors = _price([EXTRAS], _choice("extra", ("mozz", 2)))
    assert (price, errors) == (200, [])


def test_minus_subtracts_operand_times_quantity() -> None:
    price, _, errors = _price([EXTRAS], _choice("extra", ("no-cheese", 2)))
    assert (price, errors) == (-160, [])


def test_equals_replaces_the_product_price() -> None:
    price, _, errors = _price([SIZE], _choice("size", ("large", 1)))
    assert (price, errors) == (1100 - BASE, [])


def test_equals_with_quantity_replaces_with_operand_times_quantity() -> None:
    price, _, _ = _price([SIZE], _choice("size", ("half", 2)))
    assert price == 1000 - BASE


def test_several_equals_values_add_up_to_the_new_base() -> None:
    price, _, errors = _price([SIZE], _choice("size", ("small", 1), ("half", 1)))
    assert (price, errors) == (1100 - BASE, [])


def test_plus_and_minus_apply_to_the_replaced_base() -> None:
    price, _, errors = _price(
        [SIZE, EXTRAS],
        _choice("extra", ("ham", 1), ("no-cheese", 1)),
        _choice("size", ("large", 1)),
    )
    assert errors == []
    assert price == (1100 + 150 - 80) - BASE


def test_combination_across_options_matches_the_priced_line() -> None:
    price, _, _ = _price(
        [EXTRAS, SIZE],
        _choice("extra", ("mozz", 3), ("ham", 1)),
        _choice("size", ("small", 2)),
    )
    line = PricedLine(unit_price=BASE, quantity=4, services=(), options_price=price)
    assert line.unit_total == 1200 + 300 + 150
    assert line.total == 4 * 1650


def test_unit_total_never_goes_below_zero() -> None:
    cheap = _option("diet", _value("skip", "-", 300), max_qty=5)
    price, _, errors = _price([cheap], _choice("diet", ("skip", 3)), base=500)
    assert errors == []
    assert price == -500
    assert PricedLine(unit_price=500, quantity=2, services=(), options_price=price).total == 0


def test_unit_total_is_clamped_after_a_replacement_too() -> None:
    options = [_option("size", _value("mini", "=", 100)), _option("diet", _value("skip", "-", 300))]
    price, _, _ = _price(options, _choice("size", ("mini", 1)), _choice("diet", ("skip", 1)))
    assert price == -BASE


def test_unknown_price_operator_is_a_catalog_error() -> None:
    broken = _option("weird", _value("x", "*", 2))
    with pytest.raises(ValueError, match="unknown price operator"):
        _price([broken], _choice("weird", ("x", 1)))


def test_snapshot_records_choices_in_menu_order() -> None:
    _, snapshot, _ = _price(
        [EXTRAS, SIZE],
        _choice("size", ("large", 1)),
        _choice("extra", ("ham", 1), ("mozz", 2)),
    )
    assert snapshot == [
        {
            "uid": "extra",
            "name": "Extra",
            "type": "multiple",
            "values": [
                {
                    "uid": "mozz",
                    "name": "Mozz",
                    "price_operator": "+",
                    "price_operand": 100,
                    "quantity": 2,
                    "ext_id": "X-MOZ",
                },
                {
                    "uid": "ham",
                    "name": "Ham",
                    "price_operator": "+",
                    "price_operand": 150,
                    "quantity": 1,
                    "ext_id": None,
                },
            ],
        },
        {
            "uid": "size",
            "name": "Size",
            "type": "multiple",
            "values": [
                {
                    "uid": "large",
                    "name": "Large",
                    "price_operator": "=",
                    "price_operand": 1100,
                    "quantity": 1,
                    "ext_id": None,
                },
            ],
        },
    ]


def test_option_chosen_with_no_values_is_left_out_of_the_snapshot() -> None:
    assert _price([EXTRAS], _choice("extra")) == (0, [], [])


# --- rules ------------------------------------------------------------------------------------


def test_unknown_option_is_not_found() -> None:
    error = _only_error([EXTRAS], _choice("sauce", ("mozz", 1)))
    assert error == FieldError(
        f"{LINE}.options.0.uid", "not_found", error.message, "option_not_found"
    )
    assert "sauce" in error.message


def test_hidden_option_is_not_found() -> None:
    hidden = _option("secret", _value("a", "+", 1), hidden=True)
    error = _only_error([hidden], _choice("secret", ("a", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.uid",
        "not_found",
        "option_not_found",
    )


def test_unknown_value_is_not_found() -> None:
    error = _only_error([EXTRAS], _choice("extra", ("mozz", 1), ("tuna", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values.1.uid",
        "not_found",
        "option_value_not_found",
    )


def test_hidden_value_is_not_found() -> None:
    option = _option("extra", _value("mozz", "+", 100), _value("old", "+", 50, hidden=True))
    error = _only_error([option], _choice("extra", ("old", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values.0.uid",
        "not_found",
        "option_value_not_found",
    )


def test_too_few_values_violates_min_selectable() -> None:
    option = _option("toppings", _value("a"), _value("b"), _value("c"), min_sel=2)
    error = _only_error([option], _choice("toppings", ("a", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values",
        "min",
        "option_rule",
    )


def test_required_option_not_chosen_at_all_violates_min_selectable() -> None:
    required = _option("size", _value("small", "=", 600), min_sel=1, type_="single")
    error = _only_error([EXTRAS, required], _choice("extra", ("mozz", 1)))
    assert (error.path, error.type, error.reason) == (f"{LINE}.options", "min", "option_rule")
    assert "size" in error.message


def test_hidden_required_option_is_not_demanded() -> None:
    hidden = _option("size", _value("small", "=", 600), min_sel=1, hidden=True)
    assert _price([hidden]) == (0, [], [])


def test_too_many_values_violates_max_selectable() -> None:
    error = _only_error([SIZE], _choice("size", ("small", 1), ("large", 1), ("half", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values",
        "max",
        "option_rule",
    )


def test_quantity_below_one_is_min() -> None:
    error = _only_error([EXTRAS], _choice("extra", ("mozz", 0)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values.0.quantity",
        "min",
        "option_rule",
    )


def test_quantity_above_max_quantity_is_max() -> None:
    error = _only_error([EXTRAS], _choice("extra", ("mozz", 4)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values.0.quantity",
        "max",
        "option_rule",
    )


def test_single_option_with_two_values_is_max() -> None:
    single = _option("crust", _value("thin"), _value("thick"), type_="single", max_sel=3)
    error = _only_error([single], _choice("crust", ("thin", 1), ("thick", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values",
        "max",
        "option_rule",
    )


def test_single_option_value_twice_is_max() -> None:
    single = _option("crust", _value("thin"), type_="single", max_qty=3)
    error = _only_error([single], _choice("crust", ("thin", 2)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values.0.quantity",
        "max",
        "option_rule",
    )


def test_same_value_twice_is_a_conflict() -> None:
    error = _only_error([EXTRAS], _choice("extra", ("mozz", 1), ("mozz", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.0.values.1.uid",
        "conflict",
        "option_rule",
    )


def test_same_option_twice_is_a_conflict() -> None:
    error = _only_error([EXTRAS], _choice("extra", ("mozz", 1)), _choice("extra", ("ham", 1)))
    assert (error.path, error.type, error.reason) == (
        f"{LINE}.options.1.uid",
        "conflict",
        "option_rule",
    )


def test_every_problem_is_reported_at_once() -> None:
    required = _option("size", _value("small", "=", 600), min_sel=1)
    _, _, errors = _price(
        [EXTRAS, required],
        _choice("extra", ("mozz", 9), ("tuna", 1)),
        _choice("sauce", ("bbq", 1)),
    )
    assert sorted((e.path, e.type, e.reason) for e in errors) == sorted(
        [
            (f"{LINE}.options.0.values.0.quantity", "max", "option_rule"),
            (f"{LINE}.options.0.values.1.uid", "not_found", "option_value_not_found"),
            (f"{LINE}.options.1.uid", "not_found", "option_not_found"),
            (f"{LINE}.options", "min", "option_rule"),
        ]
    )


# --- loading from the catalog -----------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with fresh_sessions(request.param, tmp_path_factory.mktemp("options")) as made:
        yield made


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with rolled_back(sessions) as s:
        yield s


class Menu:
    """A restaurant's catalog built row by row, flushed (never committed) in the test's session."""

    def __init__(self, session: AsyncSession, organization: Organization) -> None:
        self.session = session
        self.organization = organization

    @classmethod
    async def create(cls, session: AsyncSession) -> Menu:
        key = f"resto-{secrets.token_hex(4)}"
        organization = Organization(kind="restaurant", key=key, title=key, settings={}, order_seq=0)
        session.add(organization)
        await session.flush()
        return cls(session, organization)

    async def category(self, uid: str) -> Category:
        return await self._add(Category(organization_id=self.organization.id, uid=uid, name=uid))

    async def product(self, uid: str, category: Category | None = None) -> Product:
        return await self._add(
            Product(
                organization_id=self.organization.id,
                uid=uid,
                name=uid,
                price=BASE,
                currency="EUR",
                category_id=category.id if category else None,
            )
        )

    async def option(
        self,
        uid: str,
        *,
        product: Product | None = None,
        category: Category | None = None,
        position: int = 0,
        hidden: bool = False,
    ) -> ProductOption:
        return await self._add(
            ProductOption(
                organization_id=self.organization.id,
                uid=uid,
                name=uid,
                position=position,
                product_id=product.id if product else None,
                category_id=category.id if category else None,
                hidden=hidden,
            )
        )

    async def value(
        self, option: ProductOption, uid: str, *, position: int = 0, hidden: bool = False
    ) -> OptionValue:
        return await self._add(
            OptionValue(option_id=option.id, uid=uid, name=uid, position=position, hidden=hidden)
        )

    async def _add(self, row: T) -> T:
        self.session.add(row)
        await self.session.flush()
        return row


@pytest.fixture
def selects(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    """The SELECT statements sent to the database while the test runs."""
    engine: AsyncEngine = sessions.kw["bind"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", record)


def _uids(loaded: list[OptionWithValues]) -> list[tuple[str, list[str]]]:
    return [(o.option.uid, [v.uid for v in o.values]) for o in loaded]


async def test_product_gets_its_own_and_its_category_options_by_position(
    session: AsyncSession,
) -> None:
    menu = await Menu.create(session)
    pizze = await menu.category("pizze")
    margherita = await menu.product("margherita", pizze)
    own = await menu.option("extra", product=margherita, position=2)
    shared = await menu.option("crust", category=pizze, position=1)
    await menu.value(own, "mozz", position=2)
    await menu.value(own, "ham", position=1)
    await menu.value(shared, "thin")

    loaded = await options_for_products(session, [margherita])

    assert _uids(loaded[margherita.id]) == [(shared.uid, ["thin"]), (own.uid, ["ham", "mozz"])]


async def test_category_options_apply_to_every_product_of_the_category_only(
    session: AsyncSession,
) -> None:
    menu = await Menu.create(session)
    pizze, drinks = await menu.category("pizze"), await menu.category("drinks")
    margherita = await menu.product("margherita", pizze)
    diavola = await menu.product("diavola", pizze)
    cola = await menu.product("cola", drinks)
    loose = await menu.product("bread")
    crust = await menu.option("crust", category=pizze)
    ice = await menu.option("ice", category=drinks)
    spicy = await menu.option("spicy", product=diavola)

    loaded = await options_for_products(session, [margherita, diavola, cola, loose])

    assert [o.option.uid for o in loaded[margherita.id]] == [crust.uid]
    assert [o.option.uid for o in loaded[diavola.id]] == [crust.uid, spicy.uid]
    assert [o.option.uid for o in loaded[cola.id]] == [ice.uid]
    assert loaded[loose.id] == []


async def test_hidden_options_and_values_are_returned(session: AsyncSession) -> None:
    menu = await Menu.create(session)
    product = await menu.product("margherita")
    option = await menu.option("old", product=product, hidden=True)
    await menu.value(option, "gone", hidden=True)

    loaded = await options_for_products(session, [product])

    assert _uids(loaded[product.id]) == [(option.uid, ["gone"])]
    assert loaded[product.id][0].option.hidden and loaded[product.id][0].values[0].hidden


async def test_loading_takes_at_most_two_queries(session: AsyncSession, selects: list[str]) -> None:
    menu = await Menu.create(session)
    category = await menu.category("pizze")
    products = [await menu.product(f"p{i}", category) for i in range(5)]
    for i, product in enumerate(products):
        option = await menu.option(f"o{i}", product=product)
        await menu.value(option, "a")
    await menu.value(await menu.option("shared", category=category), "b")
    selects.clear()

    loaded = await options_for_products(session, products)

    assert all(len(loaded[p.id]) == 2 for p in products)
    assert len(selects) <= 2


async def test_no_products_means_no_query(session: AsyncSession, selects: list[str]) -> None:
    assert await options_for_products(session, []) == {}
    assert selects == []


async def test_loaded_options_price_a_line(session: AsyncSession) -> None:
    menu = await Menu.create(session)
    category = await menu.category("pizze")
    product = await menu.product("margherita", category)
    crust = await menu.option("crust", category=category)
    crust.max_quantity, crust.max_selectable = 2, 1
    thick = await menu.value(crust, "thick")
    thick.price_operator, thick.price_operand = "+", 120
    await session.flush()

    loaded = await options_for_products(session, [product])
    errors = ErrorCollector()
    price, _ = price_options(
        product.price,
        loaded[product.id],
        [_choice(crust.uid, ("thick", 2))],
        errors,
        line_path=LINE,
    )

    assert (price, errors.errors) == (240, [])
