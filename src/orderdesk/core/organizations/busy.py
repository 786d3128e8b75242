"""Busy mode: a location stops taking new orders for a while, or until someone resumes it.

A kitchen that is swamped, a store whose masters are all out: the operator pauses intake at that
location and every new order (and every quote, which runs the same checks) is refused with the
reason ``location_paused`` until the pause ends. The state lives on the location row
(``paused_at``, ``paused_until``, ``paused_by``), which every order already reads (and workers
cache on PostgreSQL; writing ``locations`` invalidates those caches), so the check costs no
query. A timed pause ends by itself: :func:`paused` compares ``paused_until`` with the clock, so
nothing has to run when it runs out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.errors import FieldError, NotFound, ValidationFailed
from orderdesk.core.organizations.models import Location

log = logging.getLogger("orderdesk.busy")

MAX_PAUSE_MINUTES: Final = 1440
UNTIL_RESUMED: Final = "until_resumed"
"""What :func:`paused_until` answers for a pause without an end."""

PAUSED_REASON: Final = "location_paused"
"""The reason of the field error that refuses an order at a paused location."""


def paused(location: Location, now: datetime) -> bool:
    """Whether ``location`` refuses new orders at ``now``."""
    return location.paused_at is not None and (
        location.paused_until is None or location.paused_until > now
    )


def paused_until(location: Location, now: datetime) -> datetime | Literal["until_resumed"] | None:
    """When the pause of ``location`` ends: a UTC datetime, :data:`UNTIL_RESUMED` for a pause
    without an end, or ``None`` when it is not paused at ``now`` (a timed pause that ran out)."""
    if not paused(location, now):
        return None
    return UNTIL_RESUMED if location.paused_until is None else location.paused_until


def pause_message(location: Location, now: datetime) -> str:
    """A client-facing sentence saying until when ``location`` takes no orders, in its local
    time (the clock its customers read)."""
    until = paused_until(location, now)
    if until is None:
        return "the location is taking orders"
    if until == UNTIL_RESUMED:
        return "the location is not taking orders for now (paused until it is resumed)"
    assert isinstance(until, datetime)
    local = until.astimezone(ZoneInfo(location.timezone))
    today = now.astimezone(ZoneInfo(location.timezone)).date()
    at = local.strftime("%H:%M") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")
    return f"the location is not taking orders until {at} ({location.timezone})"


async def _location(session: AsyncSession, location_id: int) -> Location:
    location = await session.get(Location, location_id)
    if location is None:
        raise NotFound(f"location {location_id} does not exist")
    return location


async def pause_location(
    session: AsyncSession, location_id: int, *, minutes: int | None, actor: str, now: datetime
) -> Location:
    """Refuse new orders at the location for ``minutes`` (1 to 1440) from ``now``, or until
    :func:`resume_location` when ``minutes`` is ``None``. Pausing a paused location replaces
    its pause (a shorter or longer one, or an open-ended one). Orders already taken are not
    touched. Flushes; the caller's transaction commits."""
    if minutes is not None and (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MAX_PAUSE_MINUTES
    ):
        raise ValidationFailed(
            errors=[
                FieldError(
                    "minutes",
                    "max" if isinstance(minutes, int) and minutes > MAX_PAUSE_MINUTES else "min",
                    f"must be a whole number of minutes from 1 to {MAX_PAUSE_MINUTES}, "
                    "or none to pause until resumed",
                )
            ]
        )
    location = await _location(session, location_id)
    location.paused_at = now
    location.paused_until = None if minutes is None else now + timedelta(minutes=minutes)
    location.paused_by = actor
    await session.flush()
    log.info("location %s paused by %s until %s", location.key, actor, location.paused_until)
    return location


async def resume_location(
    session: AsyncSession, location_id: int, *, actor: str, now: datetime
) -> Location:
    """Take orders at the location again, whatever pause it had (none is fine too: nothing is
    written then, so a second click changes nothing)."""
    location = await _location(session, location_id)
    if location.paused_at is not None:
        location.paused_at = None
        location.paused_until = None
        location.paused_by = None
        await session.flush()
        log.info("location %s resumed by %s at %s", location.key, actor, now.isoformat())
    return location
