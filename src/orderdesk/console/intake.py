"""Busy mode and sold out: pause a location's intake, and switch products off at it.

The changes are the core's (:mod:`orderdesk.core.organizations.busy`,
:mod:`orderdesk.core.catalog.sold_out`); this module reads forms and shows state, with times in
the location's own time zone (the clock its kitchen and customers read). Anyone who sees a
location may pause it and switch its products: its organization's staff, dispatchers, admins.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from orderdesk.console.problems import invalid, refused
from orderdesk.console.web import PREFIX, Action, NotVisible, Operator, redirect, render
from orderdesk.core.catalog import sold_out
from orderdesk.core.catalog.at_location import products_at
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.core.operators.visibility import (
    VisibleLocation,
    visible_location,
    visible_locations,
)
from orderdesk.core.organizations import busy
from orderdesk.core.organizations.models import Location

router = APIRouter()

# Products listed without a search (sold out ones come on top of these): a partner store sells
# the whole shared catalog, hundreds of items, which nobody scrolls through on a tablet.
PRODUCTS_LISTED = 50
SECTION = "intake"
PAUSE_CHOICES = (15, 30, 60, 120)


def _page(location_id: int, search: str = "") -> str:
    params = {"location": str(location_id)}
    if search:
        params["q"] = search
    return f"{PREFIX}/intake?{urlencode(params)}"


def local_time(location: Location, moment: datetime, now: datetime) -> str:
    """``HH:MM`` in the location's zone; the date too when it is not today there."""
    zone = ZoneInfo(location.timezone)
    local = moment.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def pause_status(location: Location, now: datetime) -> str | None:
    """ "paused until HH:MM", "paused until resumed", or ``None`` while taking orders."""
    until = busy.paused_until(location, now)
    if until is None:
        return None
    if isinstance(until, datetime):
        return f"paused until {local_time(location, until, now)}"
    return "paused until resumed"


def _next_occurrence(location: Location, at: time, now: datetime) -> datetime:
    """The next ``at`` on the location's clock: today, or tomorrow if it has passed."""
    zone = ZoneInfo(location.timezone)
    local_now = now.astimezone(zone)
    moment = datetime.combine(local_now.date(), at, zone)
    if moment <= local_now:
        moment = datetime.combine(local_now.date() + timedelta(days=1), at, zone)
    return moment.astimezone(now.tzinfo)


@router.get("/intake")
async def intake_page(
    request: Request,
    signed: Operator,
    location: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    state = signed.state
    now = state.now()
    async with state.reads() as session:
        locations = await visible_locations(session, signed.operator)
        chosen: VisibleLocation | None = None
        if location:
            if not location.isdigit():
                raise NotVisible
            chosen = next((v for v in locations if v.location.id == int(location)), None)
            if chosen is None:
                raise NotVisible
        elif locations:
            chosen = locations[0]
        products = (
            await products_at(
                session, chosen.location, kind=chosen.kind, now=now, search=q, limit=PRODUCTS_LISTED
            )
            if chosen
            else []
        )
    return render(
        request,
        "intake.html",
        {
            "section": SECTION,
            "title": "Busy & sold out",
            "listed": PRODUCTS_LISTED,
            "locations": [(v, pause_status(v.location, now)) for v in locations],
            "chosen": chosen,
            "status": pause_status(chosen.location, now) if chosen else None,
            "products": products,
            "until_text": (
                lambda moment: local_time(chosen.location, moment, now) if chosen else ""
            ),
            "q": q,
            "choices": PAUSE_CHOICES,
            "max_minutes": busy.MAX_PAUSE_MINUTES,
        },
        signed=signed,
    )


@router.post("/intake/{location_id}/pause")
async def pause(
    request: Request,
    signed: Action,
    location_id: int,
    duration: Annotated[str, Form(max_length=20)] = "",
    custom: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """``duration``: minutes (15, 30, 60, 120), ``custom`` (then ``custom`` minutes), or
    ``until_resumed``."""
    back = _page(location_id)
    minutes: int | None
    if duration == busy.UNTIL_RESUMED:
        minutes = None
    else:
        raw = custom if duration == "custom" else duration
        if not raw.strip().isdigit():
            return refused(
                request,
                signed,
                f"give a number of minutes from 1 to {busy.MAX_PAUSE_MINUTES}, "
                "or pause until resumed",
                section=SECTION,
                back=back,
            )
        minutes = int(raw)
    state = signed.state
    try:
        async with state.transaction() as session:
            if await visible_location(session, signed.operator, location_id) is None:
                raise NotVisible
            await busy.pause_location(
                session, location_id, minutes=minutes, actor=signed.operator.actor, now=state.now()
            )
    except ValidationFailed as exc:
        return invalid(request, signed, exc, section=SECTION, back=back)
    return redirect(request, back)


@router.post("/intake/{location_id}/resume")
async def resume(request: Request, signed: Action, location_id: int) -> Response:
    state = signed.state
    async with state.transaction() as session:
        if await visible_location(session, signed.operator, location_id) is None:
            raise NotVisible
        await busy.resume_location(
            session, location_id, actor=signed.operator.actor, now=state.now()
        )
    return redirect(request, _page(location_id))


@router.post("/intake/{location_id}/products/{product_id}/sold-out")
async def mark_sold_out(
    request: Request,
    signed: Action,
    location_id: int,
    product_id: int,
    until: Annotated[str, Form(max_length=10)] = "",
    q: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Sold out from now: until ``until`` (``HH:MM`` on the location's clock, the next time
    it comes), or until switched back when empty."""
    back = _page(location_id, q)
    at: time | None = None
    if until.strip():
        try:
            at = time.fromisoformat(until.strip())
        except ValueError:
            return refused(
                request, signed, f"{until!r} is not a time (HH:MM)", section=SECTION, back=back
            )
    state = signed.state
    now = state.now()
    try:
        async with state.transaction() as session:
            found = await visible_location(session, signed.operator, location_id)
            if found is None:
                raise NotVisible
            end = _next_occurrence(found.location, at, now) if at is not None else None
            await sold_out.mark_sold_out(
                session, product_id, location_id, until=end, actor=signed.operator.actor, now=now
            )
    except ValidationFailed as exc:
        return invalid(request, signed, exc, section=SECTION, back=back)
    except NotFound as exc:
        raise NotVisible from exc
    return redirect(request, back)


@router.post("/intake/{location_id}/products/{product_id}/available")
async def mark_available(
    request: Request,
    signed: Action,
    location_id: int,
    product_id: int,
    q: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    state = signed.state
    async with state.transaction() as session:
        if await visible_location(session, signed.operator, location_id) is None:
            raise NotVisible
        await sold_out.mark_available(session, product_id, location_id)
    return redirect(request, _page(location_id, q))
