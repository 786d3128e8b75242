"""This API's delivery method codes (``dmethod``) and the fulfilment kinds the core acts on.

``"0"`` pickup at the restaurant, ``"1"`` home delivery, ``"0t"`` at table, ``"20"`` pickup at a
pickup point, ``"0e-<id>"`` an event, ``"dcf-<id>"`` a custom method. The code itself travels on
to the core too, as opaque data: a restaurant enables methods by code (several events share a
kind), and orders are rendered with the code they were placed with.
"""

from __future__ import annotations

from orderdesk.core.fulfilment.methods import FulfilmentKind

PICKUP = "0"
DELIVERY = "1"
_FIXED: dict[str, FulfilmentKind] = {
    PICKUP: "pickup",
    DELIVERY: "delivery",
    "0t": "table",
    "20": "pickup_point",
}
_WITH_ID: dict[str, FulfilmentKind] = {"0e-": "event", "dcf-": "custom"}


def kind_of(code: str) -> FulfilmentKind | None:
    """The kind of ``code``; ``None`` for a code this API does not define."""
    if code in _FIXED:
        return _FIXED[code]
    for prefix, kind in _WITH_ID.items():
        if code.startswith(prefix) and len(code) > len(prefix):
            return kind
    return None
