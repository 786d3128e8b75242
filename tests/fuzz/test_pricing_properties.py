"""Properties of the pricing routines, checked on generated inputs against plain reference
computations: totals are whole minor units and never negative, option operators are exact, a
discount never exceeds the subtotal (so it never eats into the delivery fee), and percentages
round half-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.core.catalog.models import OptionValue, ProductOption
from orderdesk.core.catalog.options import OptionWithValues
from orderdesk.core.errors import ErrorCollector
from orderdesk.core.pricing.coupons import coupon_discount
from orderdesk.core.pricing.models import Coupon
from orderdesk.core.pricing.options import OptionChoice, ValueChoice, price_options
from orderdesk.core.pricing.service import PricedLine, PricedService, price_order

pytestmark = pytest.mark.fuzz

MAX_PRICE = 2**31 - 1  # every amount column is a 32-bit integer
PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None, database=None)

amounts = st.integers(min_value=0, max_value=MAX_PRICE)
small_amounts = st.integers(min_value=0, max_value=1_000_000)
quantities = st.integers(min_value=1, max_value=999)


@st.composite
def priced_lines(draw: st.DrawFn) -> PricedLine:
    unit_price = draw(small_amounts)
    services = tuple(
        PricedService(name, draw(small_amounts))
        for name in draw(st.lists(st.sampled_from(["delivery", "assembly"]), unique=True))
    )
    # price_options never takes a unit below zero: options_price >= -unit_price.
    options_price = draw(st.integers(min_value=-unit_price, max_value=1_000_000))
    return PricedLine(unit_price, draw(quantities), services, options_price)


def _is_int(value: Any) -> bool:
    return type(value) is int


# --- price_order -------------------------------------------------------------------------------


@PROPERTIES
@given(lines=st.lists(priced_lines(), max_size=20), delivery_fee=small_amounts, discount=amounts)
def test_order_totals_are_whole_non_negative_and_exact(
    lines: list[PricedLine], delivery_fee: int, discount: int
) -> None:
    totals = price_order(lines, delivery_fee=delivery_fee, discount=discount)

    expected_subtotal = sum(
        line.quantity * (line.unit_price + sum(s.price for s in line.services) + line.options_price)
        for line in lines
    )
    assert totals.subtotal == expected_subtotal
    assert all(map(_is_int, (totals.subtotal, totals.delivery_fee, totals.discount, totals.total)))
    assert 0 <= totals.discount <= totals.subtotal
    assert totals.discount == min(discount, expected_subtotal)
    assert totals.total == expected_subtotal + delivery_fee - totals.discount
    assert totals.total >= delivery_fee >= 0  # a discount never eats into the delivery fee


@PROPERTIES
@given(
    lines=st.lists(priced_lines(), max_size=3),
    delivery_fee=st.integers(max_value=-1) | small_amounts,
    discount=st.integers(max_value=-1),
)
def test_negative_fees_and_discounts_are_refused(
    lines: list[PricedLine], delivery_fee: int, discount: int
) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        price_order(lines, delivery_fee=delivery_fee, discount=discount)
    with pytest.raises(ValueError, match="non-negative"):
        price_order(lines, delivery_fee=discount, discount=0)


# --- option operators ----------------------------------------------------------------------------

operators = st.sampled_from(["+", "-", "="])


@st.composite
def option_menus(draw: st.DrawFn) -> list[OptionWithValues]:
    """Up to four options of up to five values each, every one choosable (no hidden ones)."""
    options = []
    for o in range(draw(st.integers(min_value=1, max_value=4))):
        values = [
            OptionValue(
                uid=f"v{o}-{v}",
                name=f"Value {v}",
                short_name="",
                price_operator=draw(operators),
                price_operand=draw(small_amounts),
                hidden=False,
                position=v,
                checked_default=False,
                ext_id=None,
            )
            for v in range(draw(st.integers(min_value=1, max_value=5)))
        ]
        option = ProductOption(
            uid=f"o{o}",
            name=f"Option {o}",
            short_name="",
            type="multiple",
            min_selectable=0,
            max_selectable=len(values),
            max_quantity=99,
            hidden=False,
            position=o,
        )
        options.append(OptionWithValues(option, values))
    return options


@st.composite
def menus_and_choices(
    draw: st.DrawFn,
) -> tuple[list[OptionWithValues], list[OptionChoice]]:
    menu = draw(option_menus())
    choices = []
    for entry in draw(st.lists(st.sampled_from(menu), unique_by=id)):
        picked = draw(st.lists(st.sampled_from(entry.values), unique_by=id, min_size=1))
        choices.append(
            OptionChoice(
                entry.option.uid,
                [
                    ValueChoice(value.uid, draw(st.integers(min_value=1, max_value=99)))
                    for value in picked
                ],
            )
        )
    return menu, choices


def _reference_unit(base: int, menu: list[OptionWithValues], choices: list[OptionChoice]) -> int:
    """The module docstring's rule, computed the obvious way."""
    operand = {v.uid: (v.price_operator, v.price_operand) for entry in menu for v in entry.values}
    picked = [(operand[v.uid], v.quantity) for c in choices for v in c.values]
    replaced = [p * q for (op, p), q in picked if op == "="]
    unit = sum(replaced) if replaced else base
    unit += sum(p * q for (op, p), q in picked if op == "+")
    unit -= sum(p * q for (op, p), q in picked if op == "-")
    return max(0, unit)


@PROPERTIES
@given(base=small_amounts, menu_and_choices=menus_and_choices(), quantity=quantities)
def test_option_operators_are_exact_in_minor_units(
    base: int,
    menu_and_choices: tuple[list[OptionWithValues], list[OptionChoice]],
    quantity: int,
) -> None:
    menu, choices = menu_and_choices
    errors = ErrorCollector()
    options_price, snapshot = price_options(base, menu, choices, errors, line_path="lines.0")

    assert errors.errors == []
    assert _is_int(options_price)
    assert base + options_price == _reference_unit(base, menu, choices)
    assert base + options_price >= 0
    line = PricedLine(base, quantity, (), options_price)
    assert line.total == quantity * _reference_unit(base, menu, choices) >= 0
    chosen = {(v.uid, v.quantity) for c in choices for v in c.values}
    recorded = {(v["uid"], v["quantity"]) for option in snapshot for v in option["values"]}
    assert recorded == chosen


@PROPERTIES
@given(
    base=small_amounts,
    menu=option_menus(),
    uids=st.lists(st.text(max_size=5), max_size=4),
    quantity=st.integers(min_value=-5, max_value=200),
)
def test_unknown_or_out_of_range_choices_are_reported_not_raised(
    base: int, menu: list[OptionWithValues], uids: list[str], quantity: int
) -> None:
    choices = [OptionChoice(uid, [ValueChoice(uid, quantity)]) for uid in uids]
    choices += [
        OptionChoice(entry.option.uid, [ValueChoice(entry.values[0].uid, quantity)])
        for entry in menu[:1]
    ]
    errors = ErrorCollector()
    options_price, _ = price_options(base, menu, choices, errors, line_path="lines.0")

    assert _is_int(options_price)
    assert base + options_price >= 0
    valid_quantity = 1 <= quantity <= 99
    assert bool(errors.errors) == (bool(uids) or not valid_quantity)
    assert all(e.path.startswith("lines.0.options.") for e in errors.errors)


# --- coupons -------------------------------------------------------------------------------------


def _coupon(percent: int, amount: int) -> Coupon:
    return Coupon(
        code="FUZZ",
        discount_perc=percent,
        discount_amount=amount,
        quantity=None,
        order_min=0,
        valid_from=None,
        valid_to=None,
        valid_weekdays=[],
        valid_email=None,
    )


def _half_up_percent(subtotal: int, percent: int) -> int:
    exact = Decimal(subtotal) * Decimal(percent) / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@PROPERTIES
@given(
    subtotal=st.integers(min_value=-1_000_000, max_value=MAX_PRICE),
    percent=st.integers(min_value=0, max_value=100),
    amount=amounts,
)
def test_coupon_discount_rounds_half_up_and_never_exceeds_the_subtotal(
    subtotal: int, percent: int, amount: int
) -> None:
    discount = coupon_discount(_coupon(percent, amount), subtotal)

    assert _is_int(discount)
    assert 0 <= discount <= max(subtotal, 0)
    expected = min(subtotal, _half_up_percent(subtotal, percent) + amount) if subtotal > 0 else 0
    assert discount == expected


@PROPERTIES
@given(
    subtotal=st.integers(min_value=0, max_value=MAX_PRICE // 2),
    more=st.integers(min_value=0, max_value=MAX_PRICE // 2),
    percent=st.integers(min_value=0, max_value=100),
)
def test_a_larger_order_never_gets_a_smaller_percentage_discount(
    subtotal: int, more: int, percent: int
) -> None:
    coupon = _coupon(percent, 0)
    assert coupon_discount(coupon, subtotal) <= coupon_discount(coupon, subtotal + more)


@PROPERTIES
@given(
    lines=st.lists(priced_lines(), min_size=1, max_size=10),
    delivery_fee=small_amounts,
    percent=st.integers(min_value=0, max_value=100),
    amount=small_amounts,
)
def test_a_coupon_on_an_order_leaves_the_delivery_fee_whole(
    lines: list[PricedLine], delivery_fee: int, percent: int, amount: int
) -> None:
    subtotal = sum(line.total for line in lines)
    discount = coupon_discount(_coupon(percent, amount), subtotal)
    totals = price_order(lines, delivery_fee=delivery_fee, discount=discount)

    assert totals.discount == discount
    assert totals.total == subtotal - discount + delivery_fee >= delivery_fee
