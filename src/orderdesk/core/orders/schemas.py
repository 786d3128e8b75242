"""Types passed between dialects and the order services, and the names the core gives fields.

Field names
-----------
Every :class:`~orderdesk.core.errors.FieldError` about a draft names the field in the core's own
vocabulary below, never in a client's; each dialect renames these paths to its wire paths at its
edge with a :class:`PathTable` (see ``orderdesk.dialects.<name>.paths``). ``{i}``, ``{j}`` and
``{k}`` are positions in the draft's own lists (``lines.{i}`` is ``draft.lines[i]``).

==============================================  ==============================================
``location``                                    the location (``OrderDraft.location_key``)
``customer.phone``                              the customer's phone number
``preferences``                                 the preferred dates and slots, as a whole
``preferences.{i}.date``                        the date of one preference
``lines.{i}.product``                           the product of one line
``lines.{i}.services.{name}``                   one service asked for on a line
``lines.{i}.options``                           the options of a line, as a whole
``lines.{i}.options.{j}.uid``                   one chosen option
``lines.{i}.options.{j}.values``                the values chosen for it, as a whole
``lines.{i}.options.{j}.values.{k}.uid``        one chosen value
``lines.{i}.options.{j}.values.{k}.quantity``   its quantity
``booking``                                     the pickup or delivery time
``delivery``                                    the delivery details, as a whole
``delivery.place``                              the place delivered to
``coupon``                                      the coupon code
``method``                                      the fulfilment method
``payment_method``                              the payment method
``payment_sub``                                 the cash payment sub-method
``images``                                      the linked images, as a whole
``images.{i}``                                  one linked image
==============================================  ==============================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderdesk.core.errors import FieldError, ValidationFailed
from orderdesk.core.fulfilment.methods import FulfilmentKind
from orderdesk.core.orders.models import Order
from orderdesk.core.organizations.models import Location
from orderdesk.core.pricing.options import OptionChoice
from orderdesk.core.scheduling.service import SlotChoice

LOCATION = "location"
PHONE = "customer.phone"
PREFERENCES = "preferences"
LINES = "lines"
BOOKING = "booking"
DELIVERY = "delivery"
DELIVERY_PLACE = "delivery.place"
COUPON = "coupon"
METHOD = "method"
PAYMENT_METHOD = "payment_method"
PAYMENT_SUB = "payment_sub"
IMAGES = "images"


class PathTable:
    """One dialect's renaming of core field names (above) to its wire paths.

    Keys are core-path patterns and values wire-path templates; ``{name}`` in a pattern stands
    for one path segment and is copied into the template. A pattern also matches the start of a
    longer path, whose rest is kept, so ``lines.{i}.options`` covers every path below it. The
    most specific pattern wins (more segments, then fewer placeholders), so a table can name one
    element apart from the rest of its list. A path no pattern matches is kept as it is.
    """

    def __init__(self, entries: Mapping[str, str]) -> None:
        self._entries = dict(entries)
        rules = []
        for pattern, template in self._entries.items():
            segments = pattern.split(".")
            holes = [s.startswith("{") and s.endswith("}") for s in segments]
            regex = r"\.".join(
                f"(?P<{s[1:-1]}>[^.]+)" if hole else re.escape(s)
                for s, hole in zip(segments, holes, strict=True)
            )
            compiled = re.compile(rf"{regex}(?P<_rest>\..*)?")
            rules.append((-len(segments), sum(holes), compiled, template))
        rules.sort(key=lambda rule: rule[:2])
        self._rules = [(regex, template) for _, _, regex, template in rules]

    def with_entries(self, entries: Mapping[str, str]) -> PathTable:
        """This table with ``entries`` added or replaced, for paths that depend on a request."""
        return PathTable({**self._entries, **entries})

    def wire_path(self, path: str) -> str:
        for regex, template in self._rules:
            found = regex.fullmatch(path)
            if found is not None:
                parts = found.groupdict()
                rest = parts.pop("_rest") or ""
                return template.format(**parts) + rest
        return path

    def errors(self, errors: Iterable[FieldError]) -> list[FieldError]:
        return [error.renamed(self.wire_path) for error in errors]

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Around a core call: a :class:`ValidationFailed` leaves it with wire paths."""
        try:
            yield
        except ValidationFailed as failed:
            raise failed.renamed(self.wire_path) from None


@dataclass(frozen=True, slots=True)
class LineDraft:
    """One line: a marketplace item by its number (``item_id``, partner items) or a product by
    uid (restaurant products)."""

    item_id: int | None
    quantity: int
    services: tuple[str, ...]
    product_uid: str | None = None
    options: tuple[OptionChoice, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class TimeBooking:
    """A pickup or delivery time; when given it must be a free slot start, and takes a unit of
    that slot's order capacity. ``at`` is ``None`` when the client gave none, which the method's
    kind may refuse."""

    at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryDraft:
    place_id: str
    extra: dict[str, str] = field(default_factory=dict)  # doorbell, floor...


@dataclass(frozen=True, slots=True)
class CouponDraft:
    code: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Restaurant orders: confirmed at once, or after a countdown of ``countdown_seconds``."""

    confirmed_now: bool
    countdown_seconds: int


@dataclass(frozen=True, slots=True)
class MethodChoice:
    """The fulfilment and payment methods, which the organization must have enabled.

    ``code`` is the method as the organization's settings list it: opaque data, only checked for
    membership (several methods may share a kind, such as two events). ``kind`` is what the core
    acts on; ``None`` when the dialect knows no kind for the code, which is then refused anyway.
    """

    kind: FulfilmentKind | None
    code: str
    payment_sub: str | None


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """Everything a dialect read from a create-order request.

    Orders that book a master carry ``preferences`` (booked when ``ready``); orders for a time
    carry a ``booking``, and may carry a ``delivery`` place, a ``coupon``, ``methods`` and a
    ``confirmation``. ``fulfilment`` is stored with the order as the dialect gives it.
    """

    location_key: str | None
    customer: dict[str, str]  # first_name, last_name, phone (as given), email
    address: dict[str, Any] | None
    payment_method: str
    ready: bool
    preferences: list[SlotChoice]
    lines: list[LineDraft]
    image_ids: list[str]
    fulfilment: dict[str, Any] = field(default_factory=dict)
    booking: TimeBooking | None = None
    delivery: DeliveryDraft | None = None
    coupon: CouponDraft | None = None
    methods: MethodChoice | None = None
    confirmation: Confirmation | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class OrderFilter:
    query: str | None = None
    location_keys: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with everything a dialect needs to render it, loaded in a fixed few queries."""

    order: Order
    organization_key: str
    organization_kind: str
    location: Location
    image_ids: list[str]
