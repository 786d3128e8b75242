"""Fulfilment and payment methods an organization has enabled.

The core acts on fulfilment *kinds*; a dialect maps its own method codes to them at its edge.
The organization's settings list enabled methods by code (``settings["dmethods"]``, written by
the setup document), and a code is opaque data here: it is only checked for membership, because
several enabled methods may share a kind (two events, two custom methods).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from orderdesk.core.errors import ErrorCollector

FulfilmentKind = Literal["pickup", "delivery", "table", "pickup_point", "event", "custom"]
KINDS: tuple[FulfilmentKind, ...] = get_args(FulfilmentKind)
PAYMENT_METHODS = ("cash", "invoice", "external")


def needs_place(kind: FulfilmentKind | None) -> bool:
    """Whether an order of this kind cannot be fulfilled without a place to deliver to."""
    return kind == "delivery"


def needs_time(kind: FulfilmentKind | None) -> bool:
    """Whether an order of this kind must say when it is picked up or delivered."""
    return kind in ("pickup", "delivery")


def check_method(
    settings: Mapping[str, object], code: str, path: str, errors: ErrorCollector
) -> None:
    enabled = settings.get("dmethods") or []
    if not isinstance(enabled, list) or code not in enabled:
        errors.add(
            path,
            "enum",
            f"delivery method {code!r} is not enabled for this restaurant",
            "method_disabled",
        )


def check_payment(
    settings: Mapping[str, object],
    method: str,
    sub: str | None,
    path: str,
    sub_path: str,
    errors: ErrorCollector,
) -> None:
    if method not in PAYMENT_METHODS:
        errors.add(path, "enum", f"must be one of {', '.join(PAYMENT_METHODS)}")
        return
    if method != "cash":
        return
    subs = settings.get("cash_subs") or []
    if not sub:
        errors.add(sub_path, "required", "is required when payment_method is cash")
    elif not isinstance(subs, list) or sub not in subs:
        errors.add(sub_path, "enum", f"unknown cash payment method {sub!r}")
