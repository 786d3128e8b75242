"""The capacity calendar: a location's week, booked against capacity, each cell editable:
masters per timeslot at a partner's store, orders per time slot at a restaurant location.

Who may edit: anyone who sees the location. Staff see (and so edit) only their own
organization's locations, which is who knows when their masters are in or how many orders the
kitchen can take; dispatchers and admins edit every location.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from orderdesk.console.problems import invalid, refused
from orderdesk.console.web import PREFIX, Action, NotVisible, Operator, redirect, render
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.core.operators.visibility import visible_location, visible_locations
from orderdesk.core.scheduling import calendar
from orderdesk.core.scheduling.service import local_today

router = APIRouter()
SECTION = "capacity"


def _page(location_id: int, week: date | str | None = None) -> str:
    params: dict[str, str] = {"location": str(location_id)}
    if week is not None:
        params["week"] = str(week)
    return f"{PREFIX}/capacity?{urlencode(params)}"


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@router.get("/capacity")
async def capacity_page(
    request: Request,
    signed: Operator,
    location: Annotated[str | None, Query(max_length=20)] = None,
    week: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    state = signed.state
    now = state.now()
    async with state.reads() as session:
        locations = await visible_locations(session, signed.operator)
        chosen = None
        if location:
            if not location.isdigit():
                raise NotVisible
            chosen = next((v for v in locations if v.location.id == int(location)), None)
            if chosen is None:
                raise NotVisible
        elif locations:
            chosen = locations[0]
        if chosen is None:
            return render(
                request,
                "capacity.html",
                {"section": SECTION, "title": "Capacity", "locations": [], "chosen": None},
                signed=signed,
            )
        day = _day(week) if week else local_today(chosen.location, now)
        if day is None:
            return refused(
                request,
                signed,
                f"{week!r} is not a date (YYYY-MM-DD)",
                section=SECTION,
                back=_page(chosen.location.id),
                status_code=400,
            )
        shown = await calendar.capacity_week(session, chosen.location.id, day, now=now)
    return render(
        request,
        "capacity.html",
        {
            "section": SECTION,
            "title": "Capacity",
            "locations": locations,
            "chosen": chosen,
            "week": shown,
            "zone": ZoneInfo(chosen.location.timezone),
            "page": _page,
        },
        signed=signed,
    )


@router.post("/capacity/{location_id}/cell")
async def set_cell(
    request: Request,
    signed: Action,
    location_id: int,
    day: Annotated[str, Form(max_length=20)],
    slot: Annotated[str, Form(max_length=10)],
    capacity: Annotated[str, Form(max_length=10)] = "",
    step: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Set one cell; ``step`` (+1 / -1) adds to the number in the form: an extra master or
    order, one fewer."""
    state = signed.state
    back = _page(location_id, day)
    on = _day(day)
    try:
        count = int(capacity) + (int(step) if step else 0)
    except ValueError:
        count = None
    if on is None or count is None:
        return refused(
            request, signed, "give a date and a whole number", section=SECTION, back=back
        )
    try:
        async with state.transaction() as session:
            if await visible_location(session, signed.operator, location_id) is None:
                raise NotVisible
            await calendar.set_capacity(
                session,
                location_id,
                on,
                slot,
                max(count, 0) if step else count,
                actor=signed.operator.actor,
                now=state.now(),
            )
    except ValidationFailed as exc:
        return invalid(request, signed, exc, section=SECTION, back=back)
    except NotFound as exc:
        raise NotVisible from exc
    return redirect(request, back)


@router.post("/capacity/{location_id}/day-off")
async def day_off(
    request: Request,
    signed: Action,
    location_id: int,
    day: Annotated[str, Form(max_length=20)],
) -> Response:
    """Nothing bookable that day (no master, no order time): every slot set to 0."""
    state = signed.state
    back = _page(location_id, day)
    on = _day(day)
    if on is None:
        return refused(request, signed, f"{day!r} is not a date", section=SECTION, back=back)
    try:
        async with state.transaction() as session:
            if await visible_location(session, signed.operator, location_id) is None:
                raise NotVisible
            await calendar.set_day_off(
                session, location_id, on, actor=signed.operator.actor, now=state.now()
            )
    except ValidationFailed as exc:
        return invalid(request, signed, exc, section=SECTION, back=back)
    return redirect(request, back)
