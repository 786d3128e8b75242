"""How the console writes money and options (pure, no database)."""

from __future__ import annotations

import pytest

from orderdesk.core.orders.board import money, option_labels


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1250, "EUR", "€12.50"),
        (5, "EUR", "€0.05"),
        (-100, "EUR", "-€1.00"),
        (123456789, "USD", "$1,234,567.89"),
        (1999, "SEK", "19.99 SEK"),
        (0, "gbp", "£0.00"),
    ],
)
def test_money_is_minor_units_with_the_currency(amount: int, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown


def test_option_labels_name_each_option_and_its_values() -> None:
    options = [
        {"uid": "size", "name": "Size", "values": [{"uid": "large", "name": "Large"}]},
        {"name": "Extra", "values": [{"name": "Basil", "quantity": 2}, {"name": "Olives"}]},
        {"uid": "no-values"},
        "plain",
    ]
    assert option_labels(options) == [
        "Size: Large",
        "Extra: 2 x Basil, Olives",
        "no-values",
        "plain",
    ]
