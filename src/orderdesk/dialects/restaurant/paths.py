"""The core's field names (:mod:`orderdesk.core.orders.schemas`) as this API's wire paths.

The pickup or delivery time (``booking``) is ``delivery.date`` for home delivery and
``pickup.date`` otherwise, so routes take the table for the request's kind from
:func:`paths_for` and run the core call inside its ``applied()``.
"""

from __future__ import annotations

from orderdesk.core.fulfilment.methods import FulfilmentKind
from orderdesk.core.orders.schemas import PathTable

PATHS = PathTable(
    {
        "location": "subrestaurant_uid",
        "customer.phone": "client.phone",
        "lines.{i}.product": "details.{i}.product.uid",
        "lines.{i}.options": "details.{i}.options",
        "booking": "pickup.date",
        "delivery.place": "delivery.address.place_id",
        "coupon": "coupon.code",
        "method": "dmethod",
        "payment_sub": "payment_method_sub",
    }
)
_DELIVERED = PATHS.with_entries({"booking": "delivery.date"})


def paths_for(kind: FulfilmentKind | None) -> PathTable:
    return _DELIVERED if kind == "delivery" else PATHS
