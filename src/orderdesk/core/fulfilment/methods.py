"""Delivery and payment methods a restaurant has enabled.

Method codes are the restaurant wire's own (``"0"`` pickup, ``"1"`` delivery, ``"0t"`` table,
``"20"`` pickup point, ``"0e-<id>"`` event, ``"dcf-<id>"`` custom); they are data here, kept in
the organization's settings by the setup document, and only checked for membership.
"""

from __future__ import annotations

from collections.abc import Mapping

from orderdesk.core.errors import ErrorCollector

PICKUP = "0"
DELIVERY = "1"
PAYMENT_METHODS = ("cash", "invoice", "external")


def needs_address(dmethod: str) -> bool:
    return dmethod == DELIVERY


def check_method(
    settings: Mapping[str, object], dmethod: str, path: str, errors: ErrorCollector
) -> None:
    enabled = settings.get("dmethods") or []
    if not isinstance(enabled, list) or dmethod not in enabled:
        errors.add(
            path,
            "enum",
            f"delivery method {dmethod!r} is not enabled for this restaurant",
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
