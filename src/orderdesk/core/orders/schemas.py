"""Types passed between dialects and the order services.

Drafts carry, next to each value, the *wire path* it came from (``path`` fields), so the core can
name the offending field in the client's own terms without knowing the client's JSON shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderdesk.core.orders.models import Order
from orderdesk.core.organizations.models import Location
from orderdesk.core.pricing.options import OptionChoice
from orderdesk.core.scheduling.service import SlotChoice


@dataclass(frozen=True, slots=True)
class LineDraft:
    """One line: a marketplace item by its number (``product_id``, partner items) or a product
    by uid (restaurant products)."""

    product_id: int | None
    quantity: int
    services: tuple[str, ...]
    product_path: str
    service_paths: dict[str, str] = field(default_factory=dict)
    product_uid: str | None = None
    options: tuple[OptionChoice, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class SlotPreference:
    choice: SlotChoice
    path: str


@dataclass(frozen=True, slots=True)
class TimeBooking:
    """A pickup or delivery time; when given it must be a free slot start, and takes a unit of
    that slot's order capacity."""

    at: datetime | None
    path: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryDraft:
    place_id: str
    path: str
    extra: dict[str, str] = field(default_factory=dict)  # doorbell, floor...


@dataclass(frozen=True, slots=True)
class CouponDraft:
    code: str
    path: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Restaurant orders: confirmed at once, or after a countdown of ``countdown_seconds``."""

    confirmed_now: bool
    countdown_seconds: int


@dataclass(frozen=True, slots=True)
class MethodChoice:
    """The delivery and payment method codes a restaurant must have enabled."""

    dmethod: str
    dmethod_path: str
    payment_sub: str | None
    payment_path: str
    payment_sub_path: str


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """Everything a dialect read from a create-order request, with wire paths.

    Partner orders book a master from ``preferences`` when ``ready``; restaurant orders carry a
    ``booking`` time, a ``delivery`` place, a ``coupon``, ``methods`` and a ``confirmation``.
    """

    location_key: str | None
    location_path: str
    customer: dict[str, str]  # first_name, last_name, phone (as given), email
    phone_path: str
    address: dict[str, Any] | None
    payment_method: str
    ready: bool
    preferences: list[SlotPreference]
    preferences_path: str
    lines: list[LineDraft]
    image_ids: list[str]
    image_path: str
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
