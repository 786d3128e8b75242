"""The operators' view of orders across organizations: the board's filtered pages and one
order's history (events and webhook deliveries).

Every filter is one the database can serve from an index on ``orders`` (migrations 0001 and
0008): organization (``organization_id, id``), location (``location_id, id``), status
(``substatus, id``, a status being a set of substatuses), created day (``created_at``), booked
day (``booked_day`` for partner bookings, ``scheduled_at`` for restaurant times, both partial),
dialect (the organizations of that kind, then the organization index), order number (unique
``organization_id, number``). Pages are newest first by keyset (``id < before``), so a deep page
costs what the first does, and a live board asks only for rows newer than its newest
(``id > after``).

Staff operators see their own organization only: the filter is forced here, whatever was asked.

A day is the location's local day, as the board shows every time in its location's zone: an
order made in Riga at 00:30 on 2 March is on 2 March, though it is 1 March 22:30 in UTC. Where
the locations in view keep more than one zone, the day is one UTC range per zone, each for the
locations of that zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orderdesk.core.catalog.search import fold
from orderdesk.core.events.models import OutboxEvent, WebhookDelivery
from orderdesk.core.operators.service import OperatorView
from orderdesk.core.orders.models import Order, OrderEvent
from orderdesk.core.orders.queries import substatuses_matching, views_for
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.models import Location, Organization

KINDS = ("partner", "restaurant")
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """What the operator asked for; every field is optional (``None`` = any)."""

    organization_id: int | None = None
    location_id: int | None = None
    status: str | None = None
    created_on: date | None = None
    booked_on: date | None = None
    kind: str | None = None
    query: str | None = None


@dataclass(frozen=True, slots=True)
class Choices:
    """The organizations and locations an operator may filter by, for the filter form."""

    organizations: list[tuple[int, str, str]]  # id, title, kind
    locations: list[tuple[int, int, str]]  # id, organization id, title


async def choices(session: AsyncSession, operator: OperatorView) -> Choices:
    """The organizations and locations the operator sees."""
    orgs = select(Organization.id, Organization.title, Organization.kind).order_by(
        Organization.title
    )
    locs = select(Location.id, Location.organization_id, Location.title).order_by(Location.title)
    if operator.organization_id is not None:
        orgs = orgs.where(Organization.id == operator.organization_id)
        locs = locs.where(Location.organization_id == operator.organization_id)
    return Choices(
        [(i, t, k) for i, t, k in await session.execute(orgs)],
        [(i, o, t) for i, o, t in await session.execute(locs)],
    )


def _local_day(
    column: Any, day: date, zones: Sequence[str], in_view: Select[int]
) -> ColumnElement[bool]:
    """``column`` (an aware timestamp) falls on ``day`` in the zone of the order's location;
    ``zones`` are the zones of the locations in view (``in_view``, their ids)."""

    def span(zone: str) -> ColumnElement[bool]:
        tz = ZoneInfo(zone)
        start = datetime.combine(day, time(), tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
        return and_(column >= start, column < end)

    if len(zones) == 1:
        return span(zones[0])
    return or_(
        *(
            and_(span(zone), Order.location_id.in_(in_view.where(Location.timezone == zone)))
            for zone in zones
        )
    )


async def _filtered(
    session: AsyncSession, operator: OperatorView, flt: BoardFilter
) -> Select[Order] | None:
    """The board's statement for ``flt`` as the operator may see it; ``None`` when nothing
    can match (an organization or location the operator does not see, say)."""
    stmt = select(Order).options(selectinload(Order.lines))
    org_ids: set[int] | None = None
    if operator.organization_id is not None:
        org_ids = {operator.organization_id}
    if flt.organization_id is not None:
        org_ids = {flt.organization_id} if org_ids is None else org_ids & {flt.organization_id}
    if flt.kind is not None:
        of_kind = set(
            await session.scalars(select(Organization.id).where(Organization.kind == flt.kind))
        )
        org_ids = of_kind if org_ids is None else org_ids & of_kind
    if flt.location_id is not None:
        owner = await session.scalar(
            select(Location.organization_id).where(Location.id == flt.location_id)
        )
        if owner is None or (org_ids is not None and owner not in org_ids):
            return None
        stmt = stmt.where(Order.location_id == flt.location_id)
    elif org_ids is not None:
        if not org_ids:
            return None
        stmt = stmt.where(Order.organization_id.in_(sorted(org_ids)))
    if flt.status:
        stmt = stmt.where(Order.substatus.in_(substatuses_matching([flt.status])))
    if flt.created_on is not None or flt.booked_on is not None:
        in_view = select(Location.id)
        if flt.location_id is not None:
            in_view = in_view.where(Location.id == flt.location_id)
        elif org_ids is not None:
            in_view = in_view.where(Location.organization_id.in_(sorted(org_ids)))
        zones = sorted(
            await session.scalars(
                select(Location.timezone).where(Location.id.in_(in_view)).distinct()
            )
        )
        if not zones:
            return None
        if flt.created_on is not None:
            stmt = stmt.where(_local_day(Order.created_at, flt.created_on, zones, in_view))
        if flt.booked_on is not None:
            stmt = stmt.where(
                or_(
                    Order.booked_day == flt.booked_on,
                    _local_day(Order.scheduled_at, flt.booked_on, zones, in_view),
                )
            )
    if flt.query:
        stmt = _searched(stmt, flt.query)
    return stmt


def _searched(stmt: Select[Order], query: str) -> Select[Order]:
    """An order number (``#123`` or ``123``) matches that number; anything else must occur,
    word by word, in the customer's name, phone or the order's title (folded like the order
    list of the client APIs)."""
    text = query.strip().lstrip("#")
    if text.isdigit() and len(text) <= 9:
        return stmt.where(or_(Order.number == int(text), Order.search_text.contains(text)))
    words = fold(query).split()[:8]
    if not words:
        return stmt
    return stmt.where(and_(*(Order.search_text.contains(w, autoescape=True) for w in words)))


async def board_page(
    session: AsyncSession,
    operator: OperatorView,
    flt: BoardFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[OrderView]:
    """Newest first: the page older than order ``before`` (keyset), or only the orders newer
    than ``after`` (what a live board has not shown yet), at most ``limit``."""
    stmt = await _filtered(session, operator, flt)
    if stmt is None:
        return []
    if before is not None:
        stmt = stmt.where(Order.id < before)
    if after is not None:
        stmt = stmt.where(Order.id > after)
    limit = max(1, min(limit, MAX_PAGE))
    orders = list(await session.scalars(stmt.order_by(Order.id.desc()).limit(limit)))
    return await views_for(session, orders)


async def events_of(session: AsyncSession, order_id: int) -> list[OrderEvent]:
    """The order's event timeline, oldest first."""
    return list(
        await session.scalars(
            select(OrderEvent)
            .where(OrderEvent.order_id == order_id)
            .order_by(OrderEvent.at, OrderEvent.id)
        )
    )


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One webhook delivery about an order, as its page lists it."""

    id: int
    event: str
    state: str
    attempts: int
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


async def deliveries_of(session: AsyncSession, order_id: int) -> list[DeliveryRow]:
    """The webhook deliveries of the order's events (through ``outbox_events.order_id``),
    newest first, at most 100."""
    rows = await session.execute(
        select(
            WebhookDelivery.id,
            OutboxEvent.event,
            WebhookDelivery.state,
            WebhookDelivery.attempts,
            WebhookDelivery.last_status_code,
            WebhookDelivery.created_at,
            WebhookDelivery.delivered_at,
        )
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(OutboxEvent.order_id == order_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(100)
    )
    return [DeliveryRow(*row) for row in rows]


def money(amount: int, currency: str) -> str:
    """Integer minor units as people read them: ``€12.50``, ``-€1.00``, ``12.50 SEK``."""
    symbols = {"EUR": "€", "USD": "$", "GBP": "£"}
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 100)
    number = f"{major:,}.{minor:02d}"
    symbol = symbols.get(currency.upper())
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"


def option_labels(options: Sequence[Any]) -> list[str]:
    """An order line's stored options as short labels, whatever shape each dialect stored."""
    labels: list[str] = []
    for option in options:
        if isinstance(option, dict):
            name = option.get("name") or option.get("uid") or ""
            values = option.get("values")
            if isinstance(values, list) and values:
                parts = []
                for v in values:
                    if isinstance(v, dict):
                        label = str(v.get("name") or v.get("uid") or "")
                        quantity = v.get("quantity")
                        parts.append(
                            f"{quantity} x {label}" if quantity and quantity != 1 else label
                        )
                    else:
                        parts.append(str(v))
                labels.append(f"{name}: {', '.join(parts)}" if name else ", ".join(parts))
            elif name:
                labels.append(str(name))
        else:
            labels.append(str(option))
    return labels
