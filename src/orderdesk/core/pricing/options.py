"""The options chosen on one order line: checked against the catalog rules, then priced.

Pure functions over already-loaded catalog rows (see
:func:`orderdesk.core.catalog.options.options_for_products`); nothing here touches the database.

Price rule, per unit of the line, in integer minor units. With ``q`` the quantity of each chosen
value and ``p`` its ``price_operand``:

* the unit *base* is the product price, unless at least one ``=`` value is chosen: then it is the
  sum of ``p x q`` over the ``=`` values (several replacements add up, e.g. two half-and-half
  pizza halves each priced with ``=``);
* every ``+`` value adds ``p x q`` to it and every ``-`` value subtracts ``p x q``;
* the result never goes below zero (a large ``-`` cannot make a line pay the customer).

:func:`price_options` returns that unit total *minus the product price*, so that
``PricedLine(unit_price=product.price, options_price=...)`` yields exactly the unit total above
(``options_price`` may therefore be negative).

Choices are the client's: values marked ``checked_default`` are a menu hint and are not added
when the client does not send them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orderdesk.core.catalog.models import OptionValue, ProductOption
from orderdesk.core.catalog.options import OptionWithValues
from orderdesk.core.errors import ErrorCollector

RULE = "option_rule"


@dataclass(slots=True)
class ValueChoice:
    """One value the client picked."""

    uid: str
    quantity: int


@dataclass(slots=True)
class OptionChoice:
    """One option the client picked, with its values."""

    uid: str
    values: list[ValueChoice]


Picked = list[tuple[OptionValue, int]]


def price_options(
    base_price: int,
    options: Sequence[OptionWithValues],
    choices: Sequence[OptionChoice],
    errors: ErrorCollector,
    *,
    line_path: str,
) -> tuple[int, list[dict[str, Any]]]:
    """Validate ``choices`` against the product's ``options`` and price them.

    Returns ``(options_price, snapshot)``: the per-unit difference to ``base_price`` (see the
    module docstring) and a JSON-able record of the chosen options and values, in menu order, to
    store on the order line so that later catalog edits do not rewrite past orders.

    Every problem is added to ``errors`` (nothing is raised), each with the path of the offending
    field below ``line_path`` (``{line_path}.options``, ``{line_path}.options.{j}.uid``,
    ``...options.{j}.values``, ``...values.{k}.uid`` and ``...values.{k}.quantity``, by position
    in ``choices`` and in each choice's values) and a ``reason``: ``option_not_found`` /
    ``option_value_not_found`` for unknown or hidden uids, ``option_rule`` for selection rules.
    The returned amounts are only meaningful when no error was added.
    """
    offered = {entry.option.uid: entry for entry in options}
    chosen: dict[str, Picked] = {}
    for index, choice in enumerate(choices):
        path = f"{line_path}.options.{index}"
        entry = offered.get(choice.uid)
        if entry is None or entry.option.hidden:
            errors.add(
                f"{path}.uid",
                "not_found",
                f"option {choice.uid!r} is not offered with this product",
                "option_not_found",
            )
            continue
        if choice.uid in chosen:
            errors.add(
                f"{path}.uid",
                "conflict",
                f"option {choice.uid!r} is given more than once",
                RULE,
            )
            continue
        chosen[choice.uid] = _pick_values(entry, choice, path, errors)

    for entry in options:
        option = entry.option
        if option.hidden or option.min_selectable <= 0 or option.uid in chosen:
            continue
        errors.add(
            f"{line_path}.options",
            "min",
            f"option {option.uid!r} requires at least {option.min_selectable} "
            f"{_values(option.min_selectable)}",
            RULE,
        )

    in_menu_order = [
        (entry, _menu_order(entry, chosen[entry.option.uid]))
        for entry in options
        if chosen.get(entry.option.uid)
    ]
    unit_total = _unit_total(base_price, [p for _, picked in in_menu_order for p in picked])
    snapshot = [_snapshot(entry.option, picked) for entry, picked in in_menu_order]
    return unit_total - base_price, snapshot


def _pick_values(
    entry: OptionWithValues, choice: OptionChoice, path: str, errors: ErrorCollector
) -> Picked:
    """The valid values of one option choice; every rule violation goes to ``errors``.

    Distinct values are counted as the client gave them (unknown ones included), so an unknown
    value is reported once, as not found, and not a second time as a missing selection.
    """
    option = entry.option
    single = option.type == "single"
    known = {value.uid: value for value in entry.values}
    seen: set[str] = set()
    picked: Picked = []
    for index, given in enumerate(choice.values):
        at = f"{path}.values.{index}"
        if given.uid in seen:
            errors.add(
                f"{at}.uid",
                "conflict",
                f"value {given.uid!r} is given more than once",
                RULE,
            )
            continue
        seen.add(given.uid)
        value = known.get(given.uid)
        if value is None or value.hidden:
            errors.add(
                f"{at}.uid",
                "not_found",
                f"value {given.uid!r} is not offered in option {option.uid!r}",
                "option_value_not_found",
            )
        elif given.quantity < 1:
            errors.add(f"{at}.quantity", "min", "must be at least 1", RULE)
        elif single and given.quantity > 1:
            errors.add(
                f"{at}.quantity",
                "max",
                f"option {option.uid!r} takes a single value once",
                RULE,
            )
        elif given.quantity > option.max_quantity:
            errors.add(f"{at}.quantity", "max", f"must be at most {option.max_quantity}", RULE)
        else:
            picked.append((value, given.quantity))

    count = len(seen)
    if single and count > 1:
        errors.add(f"{path}.values", "max", f"option {option.uid!r} takes a single value", RULE)
    elif count > option.max_selectable:
        errors.add(
            f"{path}.values",
            "max",
            f"option {option.uid!r} allows at most {option.max_selectable} "
            f"{_values(option.max_selectable)}",
            RULE,
        )
    if count < option.min_selectable:
        errors.add(
            f"{path}.values",
            "min",
            f"option {option.uid!r} requires at least {option.min_selectable} "
            f"{_values(option.min_selectable)}",
            RULE,
        )
    return picked


def _unit_total(base_price: int, picked: Picked) -> int:
    replacements = [v.price_operand * q for v, q in picked if v.price_operator == "="]
    unit = sum(replacements) if replacements else base_price
    for value, quantity in picked:
        if value.price_operator == "+":
            unit += value.price_operand * quantity
        elif value.price_operator == "-":
            unit -= value.price_operand * quantity
        elif value.price_operator != "=":
            raise ValueError(
                f"option value {value.uid!r} has an unknown price operator {value.price_operator!r}"
            )
    return max(0, unit)


def _menu_order(entry: OptionWithValues, picked: Picked) -> Picked:
    quantities = {id(value): quantity for value, quantity in picked}
    return [(value, quantities[id(value)]) for value in entry.values if id(value) in quantities]


def _snapshot(option: ProductOption, picked: Picked) -> dict[str, Any]:
    return {
        "uid": option.uid,
        "name": option.name,
        "type": option.type,
        "values": [
            {
                "uid": v.uid,
                "name": v.name,
                "price_operator": v.price_operator,
                "price_operand": v.price_operand,
                "quantity": q,
                "ext_id": v.ext_id,
            }
            for v, q in picked
        ],
    }


def _values(n: int) -> str:
    return "value" if n == 1 else "values"
