"""Types passed between dialects and the order services.

Drafts carry, next to each value, the *wire path* it came from (``path`` fields), so the core can
name the offending field in the client's own terms without knowing the client's JSON shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orderdesk.core.orders.models import Order
from orderdesk.core.organizations.models import Location
from orderdesk.core.scheduling.service import SlotChoice


@dataclass(frozen=True, slots=True)
class LineDraft:
    product_id: int
    quantity: int
    services: tuple[str, ...]
    product_path: str
    service_paths: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SlotPreference:
    choice: SlotChoice
    path: str


@dataclass(frozen=True, slots=True)
class OrderDraft:
    location_key: str
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
