"""Creating orders and moving them through their lifecycle.

Guarantees:
- ``create_order`` validates everything it can before writing and reports every problem at once;
  then, in the caller's single transaction, it books capacity, numbers the order, stores it with
  its lines, links its images, records its first event and its outbox event. Any failure (the
  last slot taken meanwhile, an image linked by a concurrent order) raises and the caller's
  rollback leaves nothing behind.
- Every later change takes the order's row lock first, goes through the transition table, and is
  recorded as an :class:`OrderEvent` plus an outbox event.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orderdesk.core.attachments.models import Image
from orderdesk.core.attachments.service import find_unlinkable_images, link_images
from orderdesk.core.catalog.models import Product
from orderdesk.core.catalog.search import fold
from orderdesk.core.catalog.service import products_by_id
from orderdesk.core.errors import Conflict, ErrorCollector, FieldError, NotFound, ValidationFailed
from orderdesk.core.events.service import publish_order_event
from orderdesk.core.orders import lifecycle
from orderdesk.core.orders.contact import normalize_phone
from orderdesk.core.orders.models import Order, OrderEvent, OrderLine
from orderdesk.core.orders.schemas import OrderDraft, OrderFilter, OrderView, SlotPreference
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.organizations.service import Principal
from orderdesk.core.pricing.service import PricedLine, PricedService, price_order
from orderdesk.core.scheduling import service as scheduling
from orderdesk.core.scheduling.service import SlotChoice


async def next_order_number(session: AsyncSession, organization_id: int) -> int:
    """The organization's next order number; the row lock serialises concurrent takers."""
    number = await session.scalar(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(order_seq=Organization.order_seq + 1)
        .returning(Organization.order_seq)
    )
    assert number is not None
    return int(number)


def _check_preferences(
    errors: ErrorCollector, location: Location, prefs: Sequence[SlotPreference], path: str,
    now: datetime,
) -> None:
    if not prefs:
        errors.add(path, "required", "at least one date and timeslot is required")
    first, last = scheduling.booking_window(location, now)
    for pref in prefs:
        if pref.choice.day < first:
            errors.add(f"{pref.path}.date", "min", f"date is in the past (today is {first})")
        elif pref.choice.day > last:
            errors.add(f"{pref.path}.date", "max", f"date is after the booking window ({last})")


async def _location_for(
    session: AsyncSession, principal: Principal, key: str
) -> Location | None:
    location = await session.scalar(select(Location).where(Location.key == key))
    if location is None or location.organization_id != principal.organization_id:
        return None
    return location


def _title(names: Sequence[str]) -> str:
    return names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")


def _search_text(title: str, customer: dict[str, str]) -> str:
    return fold(" ".join([title, customer.get("first_name", ""), customer.get("last_name", ""),
                          customer.get("phone", ""), customer.get("email", "")]))


@dataclass
class _CheckedDraft:
    location: Location | None
    products: dict[int, Product]
    priced: list[PricedLine]
    customer: dict[str, str]


async def _check_draft(
    session: AsyncSession, principal: Principal, draft: OrderDraft, errors: ErrorCollector,
    now: datetime,
) -> _CheckedDraft:
    """Apply every rule that needs the database to ``draft``, adding what fails to ``errors``."""
    location = await _location_for(session, principal, draft.location_key)
    if location is None:
        errors.add(draft.location_path, "not_found", "store not found")
    products = await products_by_id(
        session, (line.product_id for line in draft.lines), organization_id=None
        if principal.organization_kind == "partner" else principal.organization_id,
    )
    priced: list[PricedLine] = []
    for line in draft.lines:
        product = products.get(line.product_id)
        if product is None or product.hidden:
            errors.add(line.product_path, "not_found", f"item {line.product_id} does not exist")
            continue
        if not product.available:
            errors.add(line.product_path, "unavailable", f"item {line.product_id} is unavailable")
        services = []
        for name in line.services:
            if name not in product.services:
                errors.add(line.service_paths.get(name, line.product_path), "unavailable",
                           f"{name} is not offered for item {product.id}")
            else:
                services.append(PricedService(name, int(product.services[name])))
        priced.append(PricedLine(product.price, line.quantity, tuple(services)))
    customer = dict(draft.customer)
    if location is not None:
        _check_preferences(errors, location, draft.preferences, draft.preferences_path, now)
        phone = normalize_phone(customer.get("phone", ""), timezone=location.timezone)
        if phone is None:
            errors.add(draft.phone_path, "format", "not a valid phone number")
        else:
            customer["phone"] = phone
    unlinkable = await find_unlinkable_images(session, principal.organization_id, draft.image_ids)
    for index, image_id in enumerate(draft.image_ids):
        reason = unlinkable.get(image_id)
        if reason == "conflict":
            errors.add(f"{draft.image_path}.{index}", "conflict",
                       "image is already linked to another order")
        elif reason is not None:
            errors.add(f"{draft.image_path}.{index}", "not_found", "image not found")
    return _CheckedDraft(location, products, priced, customer)


async def draft_errors(
    session: AsyncSession, principal: Principal, draft: OrderDraft, *, now: datetime
) -> list[FieldError]:
    """What the database-backed rules find wrong in ``draft``, without writing anything.

    For dialects whose request failed its shape checks: they pass what they could read, so the
    client gets every problem in one answer instead of one round trip per kind of check.
    """
    errors = ErrorCollector()
    await _check_draft(session, principal, draft, errors, now)
    return errors.errors


async def create_order(
    session: AsyncSession, principal: Principal, draft: OrderDraft, *, actor: str, now: datetime
) -> OrderView:
    errors = ErrorCollector()
    checked = await _check_draft(session, principal, draft, errors, now)
    errors.raise_if_any()
    location, products, priced, customer = (checked.location, checked.products, checked.priced,
                                            checked.customer)
    assert location is not None

    booked: SlotChoice | None = None
    if draft.ready:
        booked = await scheduling.book_first_free(
            session, location, [p.choice for p in draft.preferences], now
        )
        if booked is None:
            raise ValidationFailed(errors=[FieldError(
                draft.preferences_path, "unavailable",
                "no master is free in any of the requested dates and timeslots")])
    substatus = "awaiting_master_request" if draft.ready else "not_in_stock"
    totals = price_order(priced)
    names = [products[line.product_id].name for line in draft.lines]
    title = _title(names)
    order = Order(
        uid=secrets.token_hex(12), token=secrets.token_urlsafe(24),
        organization_id=principal.organization_id, location_id=location.id,
        number=await next_order_number(session, principal.organization_id),
        status=lifecycle.status_of(substatus), substatus=substatus, title=title,
        customer=customer, address=draft.address, payment_method=draft.payment_method,
        ready=draft.ready,
        preferences=[{"date": p.choice.day.isoformat(), "slot": p.choice.slot}
                     for p in draft.preferences],
        booked_day=booked.day if booked else None, booked_slot=booked.slot if booked else None,
        subtotal=totals.subtotal, delivery_fee=totals.delivery_fee, discount=totals.discount,
        total=totals.total, currency=products[draft.lines[0].product_id].currency,
        fulfilment=draft.fulfilment, notes="", search_text=_search_text(title, customer),
        created_at=now, updated_at=now,
        lines=[
            OrderLine(position=i, product_id=line.product_id,
                      name=products[line.product_id].name, quantity=line.quantity,
                      unit_price=p.unit_price,
                      services=[{"name": s.name, "price": s.price} for s in p.services],
                      options=[], total=p.total)
            for i, (line, p) in enumerate(zip(draft.lines, priced, strict=True))
        ],
    )
    session.add(order)
    await session.flush()
    if draft.image_ids and not await link_images(
        session, principal.organization_id, draft.image_ids, order.id
    ):
        raise ValidationFailed(errors=[FieldError(
            draft.image_path, "conflict", "an image was linked to another order meanwhile")])
    view = OrderView(order, principal.organization_key, principal.organization_kind, location,
                     list(dict.fromkeys(draft.image_ids)))
    _record(session, view, actor=actor, kind="created", previous=None, now=now,
            data={"booked": _booking(booked)})
    return view


def _booking(choice: SlotChoice | None) -> dict[str, str] | None:
    return {"date": choice.day.isoformat(), "slot": choice.slot} if choice else None


def _record(
    session: AsyncSession, view: OrderView, *, actor: str, kind: str,
    previous: tuple[str, str] | None, now: datetime, data: dict[str, object] | None = None,
) -> None:
    order = view.order
    session.add(OrderEvent(
        order_id=order.id, at=now, actor=actor, kind=kind,
        from_status=previous[0] if previous else None,
        from_substatus=previous[1] if previous else None,
        to_status=order.status, to_substatus=order.substatus, data=data or {},
    ))
    event = "created" if kind == "created" else "status_changed"
    publish_order_event(session, event, view, now)


def _move(order: Order, target: str) -> tuple[str, str]:
    lifecycle.check_move(order.substatus, target)
    previous = (order.status, order.substatus)
    order.substatus = target
    order.status = lifecycle.status_of(target)
    return previous


# ---------------------------------------------------------------------------------------------
# Reading


def _scoped(principal: Principal) -> Select[Order]:
    return (
        select(Order)
        .where(Order.organization_id == principal.organization_id)
        .options(selectinload(Order.lines))
    )


async def _views(
    session: AsyncSession, principal: Principal, orders: Sequence[Order]
) -> list[OrderView]:
    if not orders:
        return []
    location_ids = {o.location_id for o in orders}
    locations = {
        loc.id: loc
        for loc in (await session.scalars(select(Location).where(Location.id.in_(location_ids))))
    }
    images: dict[int, list[str]] = {o.id: [] for o in orders}
    rows = await session.execute(
        select(Image.order_id, Image.id)
        .where(Image.order_id.in_(images.keys()))
        .order_by(Image.created_at, Image.id)
    )
    for order_id, image_id in rows:
        if order_id is not None:
            images[order_id].append(image_id)
    return [
        OrderView(o, principal.organization_key, principal.organization_kind,
                  locations[o.location_id], images[o.id])
        for o in orders
    ]


async def get_order(
    session: AsyncSession, principal: Principal, order_id: int, *, for_update: bool = False
) -> OrderView:
    """One of the principal's orders; another organization's order is indistinguishable from
    a missing one."""
    stmt = _scoped(principal).where(Order.id == order_id)
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    order = await session.scalar(stmt)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return (await _views(session, principal, [order]))[0]


async def list_orders(
    session: AsyncSession, principal: Principal, flt: OrderFilter, *, limit: int, skip: int
) -> list[OrderView]:
    """Newest first. ``query`` words must each occur in the title, customer name or phone."""
    stmt = _scoped(principal)
    if flt.location_keys:
        stmt = stmt.where(Order.location_id.in_(
            select(Location.id).where(Location.organization_id == principal.organization_id,
                                      Location.key.in_(flt.location_keys))))
    if flt.statuses:
        stmt = stmt.where(or_(Order.status.in_(flt.statuses), Order.substatus.in_(flt.statuses)))
    if flt.query:
        words = fold(flt.query).split()[:8]
        if words:
            stmt = stmt.where(and_(*(Order.search_text.contains(w, autoescape=True)
                                     for w in words)))
    orders = list(await session.scalars(stmt.order_by(Order.id.desc()).limit(limit).offset(skip)))
    return await _views(session, principal, orders)


# ---------------------------------------------------------------------------------------------
# Changes


async def mark_ready(
    session: AsyncSession, principal: Principal, order_id: int, *, actor: str, now: datetime
) -> OrderView:
    """The goods are in stock: book a master from the stored preferences, or wait for a date."""
    view = await get_order(session, principal, order_id, for_update=True)
    order = view.order
    if order.ready:
        return view
    if not lifecycle.is_open(order.substatus):
        raise Conflict(f"order is {order.status}; only open orders can be marked in stock")
    order.ready = True
    choices = [SlotChoice(date.fromisoformat(p["date"]), p["slot"]) for p in order.preferences]
    booked = await scheduling.book_first_free(session, view.location, choices, now)
    order.booked_day, order.booked_slot = (booked.day, booked.slot) if booked else (None, None)
    previous = _move(order, "awaiting_master_request" if booked else "in_stock_awaiting_date")
    order.updated_at = now
    _record(session, view, actor=actor, kind="marked_ready", previous=previous, now=now,
            data={"booked": _booking(booked)})
    return view


async def change_dates(
    session: AsyncSession, principal: Principal, order_id: int,
    preferences: Sequence[SlotPreference], preferences_path: str, *, actor: str, now: datetime,
) -> OrderView:
    """Replace the preferences; an in-stock order gives back its slot and books anew, all in
    the caller's transaction, so a failed re-booking keeps the old one."""
    view = await get_order(session, principal, order_id, for_update=True)
    order = view.order
    if order.status != "open":
        raise Conflict(f"order is {order.status}; dates can only change while it is open")
    errors = ErrorCollector()
    _check_preferences(errors, view.location, preferences, preferences_path, now)
    errors.raise_if_any()
    old = SlotChoice(order.booked_day, order.booked_slot) if order.booked_day and \
        order.booked_slot else None
    if old is not None:
        await scheduling.release(session, order.location_id, old)
    booked: SlotChoice | None = None
    if order.ready:
        booked = await scheduling.book_first_free(
            session, view.location, [p.choice for p in preferences], now)
        if booked is None:
            raise ValidationFailed(errors=[FieldError(
                preferences_path, "unavailable",
                "no master is free in any of the requested dates and timeslots")])
    order.preferences = [{"date": p.choice.day.isoformat(), "slot": p.choice.slot}
                         for p in preferences]
    order.booked_day, order.booked_slot = (booked.day, booked.slot) if booked else (None, None)
    previous = (order.status, order.substatus)
    if order.ready and order.substatus != "awaiting_master_request":
        previous = _move(order, "awaiting_master_request")
    order.updated_at = now
    _record(session, view, actor=actor, kind="dates_changed", previous=previous, now=now,
            data={"released": _booking(old), "booked": _booking(booked)})
    return view


async def cancel_order(
    session: AsyncSession, principal: Principal, order_id: int, *, actor: str, now: datetime
) -> OrderView:
    view = await get_order(session, principal, order_id, for_update=True)
    order = view.order
    if order.status != "open":
        raise Conflict(f"order is {order.status}; only open orders can be cancelled")
    released = SlotChoice(order.booked_day, order.booked_slot) if order.booked_day and \
        order.booked_slot else None
    if released is not None:
        await scheduling.release(session, order.location_id, released)
    order.booked_day = order.booked_slot = None
    previous = _move(order, "cancelled")
    order.updated_at = now
    _record(session, view, actor=actor, kind="cancelled", previous=previous, now=now,
            data={"released": _booking(released)})
    return view


async def move_order(
    session: AsyncSession, principal: Principal, order_id: int, target: str, *, actor: str,
    now: datetime,
) -> OrderView:
    """An operator's, master's or payment provider's move, checked against the table."""
    if target == "cancelled":
        return await cancel_order(session, principal, order_id, actor=actor, now=now)
    view = await get_order(session, principal, order_id, for_update=True)
    previous = _move(view.order, target)
    view.order.updated_at = now
    _record(session, view, actor=actor, kind="moved", previous=previous, now=now)
    return view
