"""The one pricing routine. Every amount is an ``int`` of minor units; nothing is ever a float.

A line costs ``quantity x (unit price + chosen services + chosen option values)``; an order costs
its lines plus the delivery fee minus the discount, never below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PricedService:
    name: str
    price: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    unit_price: int
    quantity: int
    services: tuple[PricedService, ...]
    options_price: int = 0

    @property
    def unit_total(self) -> int:
        return self.unit_price + sum(s.price for s in self.services) + self.options_price

    @property
    def total(self) -> int:
        return self.quantity * self.unit_total


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    delivery_fee: int
    discount: int

    @property
    def total(self) -> int:
        return max(0, self.subtotal + self.delivery_fee - self.discount)


def price_order(lines: Sequence[PricedLine], *, delivery_fee: int = 0, discount: int = 0) -> Totals:
    if delivery_fee < 0 or discount < 0:
        raise ValueError("fees and discounts are non-negative amounts")
    subtotal = sum(line.total for line in lines)
    return Totals(subtotal=subtotal, delivery_fee=delivery_fee, discount=min(discount, subtotal))
