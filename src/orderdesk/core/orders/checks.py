"""Every rule of a new order that needs the database, applied before anything is written.

:func:`check_draft` collects all problems into one ``ErrorCollector`` (with ``reason`` codes for
dialects whose errors are finer than the core's types) and returns what the writing step needs:
the location, the priced lines with their snapshots, the normalised customer, the delivery
address and fee, and the coupon with its discount. Fields are named in the core's vocabulary
(see :mod:`orderdesk.core.orders.schemas`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.attachments.service import find_unlinkable_images
from orderdesk.core.catalog.models import Category, Product
from orderdesk.core.catalog.options import OptionWithValues, options_for_products
from orderdesk.core.catalog.service import MAX_PRODUCT_ID
from orderdesk.core.catalog.sold_out import is_sold_out, snoozed_at
from orderdesk.core.errors import ErrorCollector, ValidationFailed
from orderdesk.core.fulfilment import methods
from orderdesk.core.fulfilment.gazetteer import get_place
from orderdesk.core.fulfilment.service import resolve_place
from orderdesk.core.orders.contact import normalize_phone
from orderdesk.core.orders.schemas import (
    BOOKING,
    COUPON,
    DELIVERY,
    DELIVERY_PLACE,
    IMAGES,
    LINES,
    LOCATION,
    METHOD,
    PAYMENT_METHOD,
    PAYMENT_SUB,
    PHONE,
    PREFERENCES,
    LineDraft,
    OrderDraft,
)
from orderdesk.core.organizations import busy
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.organizations.service import Principal
from orderdesk.core.pricing import coupons
from orderdesk.core.pricing.models import Coupon
from orderdesk.core.pricing.options import price_options
from orderdesk.core.pricing.service import PricedLine, PricedService
from orderdesk.core.scheduling import service as scheduling
from orderdesk.core.scheduling import times
from orderdesk.core.scheduling.service import SlotChoice
from orderdesk.db.cache import cached, cached_many


@dataclass
class CheckedLine:
    product: Product
    priced: PricedLine
    options: list[dict[str, Any]]
    snapshot: dict[str, Any]


@dataclass
class CheckedDraft:
    location: Location | None
    lines: list[CheckedLine] = field(default_factory=list)
    customer: dict[str, str] = field(default_factory=dict)
    address: dict[str, Any] | None = None
    delivery_fee: int = 0
    coupon: Coupon | None = None
    discount: int = 0

    @property
    def subtotal(self) -> int:
        return sum(line.priced.total for line in self.lines)


def check_preferences(
    errors: ErrorCollector,
    location: Location,
    prefs: Sequence[SlotChoice],
    now: datetime,
) -> None:
    if not prefs:
        errors.add(PREFERENCES, "required", "at least one date and timeslot is required")
    first, last = scheduling.booking_window(location, now)
    for index, pref in enumerate(prefs):
        path = f"{PREFERENCES}.{index}.date"
        if pref.day < first:
            errors.add(path, "min", f"date is in the past (today is {first})")
        elif pref.day > last:
            errors.add(path, "max", f"date is after the booking window ({last})")


async def location_for(
    session: AsyncSession, principal: Principal, key: str | None
) -> Location | None:
    """The principal's location ``key``; without a key, its only location if it has one."""

    async def load() -> Location | None:
        if key is None:
            found = list(
                await session.scalars(
                    select(Location)
                    .where(Location.organization_id == principal.organization_id)
                    .limit(2)
                )
            )
            return found[0] if len(found) == 1 else None
        return await session.scalar(select(Location).where(Location.key == key))

    location = await cached(session, ("org-location", principal.organization_id, key), load)
    if location is None or location.organization_id != principal.organization_id:
        return None
    return location


async def _products(
    session: AsyncSession, principal: Principal, lines: Sequence[LineDraft]
) -> tuple[dict[int, Product], dict[str, Product]]:
    # Ids beyond the id column's range cannot exist (and PostgreSQL would refuse the query).
    ids = {
        line.item_id
        for line in lines
        if line.item_id is not None and 0 < line.item_id <= MAX_PRODUCT_ID
    }
    uids = {line.product_uid for line in lines if line.product_uid is not None}
    partner = principal.organization_kind == "partner"
    scope = (
        Product.organization_id.is_(None)
        if partner
        else Product.organization_id == principal.organization_id
    )

    async def load(keys: list[tuple[str, int | str]]) -> dict[tuple[str, int | str], Product]:
        item_ids = [k for kind, k in keys if kind == "item"]
        product_uids = [k for kind, k in keys if kind == "uid"]
        wanted = or_(Product.item_id.in_(item_ids), Product.uid.in_(product_uids))
        loaded: dict[tuple[str, int | str], Product] = {}
        for product in await session.scalars(select(Product).where(scope, wanted)):
            if product.item_id is not None:
                loaded["item", product.item_id] = product
            loaded["uid", product.uid] = product
        return loaded

    keys: list[tuple[str, int | str]] = [("item", i) for i in sorted(ids)]
    keys += [("uid", u) for u in sorted(uids)]
    found = await cached_many(
        session, ("product", None if partner else principal.organization_id), keys, load
    )
    by_item = {k: p for (kind, k), p in found.items() if kind == "item" and isinstance(k, int)}
    by_uid = {k: p for (kind, k), p in found.items() if kind == "uid" and isinstance(k, str)}
    return by_item, by_uid


async def _category_names(
    session: AsyncSession, products: Sequence[Product]
) -> dict[int, tuple[str, str]]:
    ids = {p.category_id for p in products if p.category_id is not None}

    async def load(missing: list[int]) -> dict[int, tuple[str, str]]:
        rows = await session.execute(
            select(Category.id, Category.uid, Category.name).where(Category.id.in_(missing))
        )
        return {cid: (uid, name) for cid, uid, name in rows}

    return await cached_many(session, "category", sorted(ids), load)


async def _options(
    session: AsyncSession, products: Sequence[Product]
) -> dict[int, list[OptionWithValues]]:
    by_id = {p.id: p for p in products}

    async def load(missing: list[int]) -> dict[int, list[OptionWithValues]]:
        return await options_for_products(session, [by_id[i] for i in missing])

    return await cached_many(session, "options", sorted(by_id), load)


async def _check_lines(
    session: AsyncSession,
    principal: Principal,
    draft: OrderDraft,
    location: Location | None,
    errors: ErrorCollector,
    now: datetime,
) -> list[CheckedLine]:
    by_item, by_uid = await _products(session, principal, draft.lines)
    snoozed = (
        await snoozed_at(session, location.id, now)
        if location is not None and (by_item or by_uid)
        else {}
    )
    found: list[tuple[str, LineDraft, Product]] = []
    for index, line in enumerate(draft.lines):
        at = f"{LINES}.{index}"
        product = (
            by_item.get(line.item_id)
            if line.item_id is not None
            else by_uid.get(line.product_uid or "")
        )
        label = (
            f"item {line.item_id}" if line.item_id is not None else f"product {line.product_uid}"
        )
        if product is None:
            errors.add(f"{at}.product", "not_found", f"{label} does not exist", "product_not_found")
            continue
        sold_here = not product.location_keys or (
            location is not None and location.key in product.location_keys
        )
        sold_out = is_sold_out(snoozed, product.id, now)
        if product.hidden or not product.available or not sold_here or sold_out:
            errors.add(
                f"{at}.product",
                "unavailable",
                f"{label} is "
                + ("sold out at this location" if sold_out and sold_here else "not available")
                + ("" if sold_here else " at this location"),
                "product_unavailable",
            )
            continue
        found.append((at, line, product))
    options = (
        await _options(session, [p for _, _, p in found])
        if any(line.options for _, line, _ in found) or principal.organization_kind != "partner"
        else {}
    )
    categories = await _category_names(session, [p for _, _, p in found])
    checked = []
    for at, line, product in found:
        services = []
        for name in line.services:
            if name not in product.services:
                errors.add(
                    f"{at}.services.{name}",
                    "unavailable",
                    f"{name} is not offered for item {line.item_id}",
                )
            else:
                services.append(PricedService(name, int(product.services[name])))
        options_price, chosen = price_options(
            product.price,
            options.get(product.id, []),
            line.options,
            errors,
            line_path=at,
        )
        category = categories.get(product.category_id or -1)
        checked.append(
            CheckedLine(
                product,
                PricedLine(product.price, line.quantity, tuple(services), options_price),
                chosen,
                {
                    "uid": product.uid,
                    "ext_id": product.ext_id,
                    "item_id": product.item_id,
                    "category_uid": category[0] if category else None,
                    "category": category[1] if category else None,
                },
            )
        )
    return checked


async def _check_delivery(
    session: AsyncSession,
    principal: Principal,
    draft: OrderDraft,
    location: Location,
    checked: CheckedDraft,
    errors: ErrorCollector,
) -> None:
    if draft.delivery is None:
        return  # required or not by the method's kind, checked with the method
    place = await get_place(session, draft.delivery.place_id)
    resolved = (
        await resolve_place(session, principal.organization_id, place, location_key=location.key)
        if place
        else None
    )
    if place is None or resolved is None:
        errors.add(
            DELIVERY_PLACE,
            "not_found",
            "unknown place or outside every delivery zone of this location",
            "address_invalid",
        )
        return
    checked.delivery_fee = resolved.fee
    checked.address = {
        "street": place.street,
        "number": place.number,
        "city": place.city,
        "province": place.province,
        "zip": place.zip,
        "country": place.country,
        "place_id": place.place_id,
        "lat": place.lat,
        "lng": place.lng,
        "kms": resolved.kms,
        **draft.delivery.extra,
    }
    if checked.subtotal < resolved.order_min:
        errors.add(
            DELIVERY_PLACE,
            "min",
            f"the minimum order for zone {resolved.zone_name} is {resolved.order_min / 100:.2f}",
            "order_min",
        )


async def _check_coupon(
    session: AsyncSession,
    principal: Principal,
    draft: OrderDraft,
    location: Location,
    checked: CheckedDraft,
    errors: ErrorCollector,
    now: datetime,
) -> None:
    if draft.coupon is None:
        return
    try:
        applied = await coupons.apply_coupon(
            session,
            principal.organization_id,
            draft.coupon.code,
            subtotal=checked.subtotal,
            email=draft.customer.get("email"),
            today=now.astimezone(ZoneInfo(location.timezone)).date(),
        )
    except ValidationFailed as refused:
        for error in refused.errors:
            errors.add(COUPON, error.type, error.message, error.reason)
        return
    checked.coupon = applied.coupon
    checked.discount = applied.discount


async def check_draft(
    session: AsyncSession,
    principal: Principal,
    draft: OrderDraft,
    errors: ErrorCollector,
    now: datetime,
) -> CheckedDraft:
    """Apply every rule that needs the database to ``draft``, adding what fails to ``errors``."""
    location = await location_for(session, principal, draft.location_key)
    if location is None:
        errors.add(
            LOCATION,
            "required" if draft.location_key is None else "not_found",
            "choose one of the locations" if draft.location_key is None else "location not found",
            "location_not_found",
        )
    elif busy.paused(location, now):
        errors.add(LOCATION, "unavailable", busy.pause_message(location, now), busy.PAUSED_REASON)
    checked = CheckedDraft(
        location, await _check_lines(session, principal, draft, location, errors, now)
    )
    checked.customer = dict(draft.customer)
    kind = draft.methods.kind if draft.methods is not None else None
    if draft.methods is not None:
        org = await cached(
            session,
            ("organization", principal.organization_id),
            lambda: session.get(Organization, principal.organization_id),
        )
        settings = org.settings if org else {}
        methods.check_method(settings, draft.methods.code, METHOD, errors)
        methods.check_payment(
            settings,
            draft.payment_method,
            draft.methods.payment_sub,
            PAYMENT_METHOD,
            PAYMENT_SUB,
            errors,
        )
        if methods.needs_place(kind) and draft.delivery is None:
            errors.add(DELIVERY, "required", f"is required for {kind} orders")
    if location is not None:
        if draft.booking is None:
            check_preferences(errors, location, draft.preferences, now)
        elif draft.booking.at is None and methods.needs_time(kind):
            errors.add(BOOKING, "required", "a pickup or delivery time is required")
        elif draft.booking.at is not None and not times.is_slot_start(
            location, draft.booking.at, now
        ):
            errors.add(
                BOOKING,
                "unavailable",
                "not a bookable time: outside opening hours, too soon, or not a slot start",
                "time_unavailable",
            )
        phone = normalize_phone(checked.customer.get("phone", ""), timezone=location.timezone)
        if phone is None:
            errors.add(PHONE, "format", "not a valid phone number")
        else:
            checked.customer["phone"] = phone
        await _check_delivery(session, principal, draft, location, checked, errors)
        await _check_coupon(session, principal, draft, location, checked, errors, now)
    if draft.image_ids:
        unlinkable = await find_unlinkable_images(
            session, principal.organization_id, draft.image_ids
        )
        for index, image_id in enumerate(draft.image_ids):
            reason = unlinkable.get(image_id)
            if reason == "conflict":
                errors.add(
                    f"{IMAGES}.{index}", "conflict", "image is already linked to another order"
                )
            elif reason is not None:
                errors.add(f"{IMAGES}.{index}", "not_found", "image not found")
    return checked
