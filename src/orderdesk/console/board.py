"""The orders board (newest first, live) and an order's page with its actions.

The board polls a fragment every two seconds for the orders newer than the newest it shows and
prepends them (it works the same with several worker processes, each answering from the
database). Older orders are pages by keyset (``before=<id>``). The reading and the actions are
in :mod:`orderdesk.core.orders.board` and :mod:`orderdesk.core.orders.actions`; these handlers
only parse forms, pick the template and the status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.console.web import PREFIX, Action, NotVisible, Operator, Signed, redirect, render
from orderdesk.core.errors import Conflict, FieldError, NotFound, StaleOrder, ValidationFailed
from orderdesk.core.operators.service import OperatorView
from orderdesk.core.orders import actions
from orderdesk.core.orders import board as core
from orderdesk.core.orders.lifecycle import STATUS_OF
from orderdesk.core.orders.schemas import OrderView

router = APIRouter()

PAGE = 50
POLL_SECONDS = 2
STATUSES = ("open", "in_work", "completed", "done", "cancelled")
FILTER_NAMES = ("org", "location", "status", "created", "booked", "kind", "q")

# What a successful action says on the order's page (after the redirect).
DONE = {
    "confirmed": "Order confirmed.",
    "closed": "Order closed.",
    "cancelled": "Order cancelled.",
    "moved": "Status changed.",
    "rescheduled": "Order rescheduled.",
}


# ---------------------------------------------------------------------------------------------
# Reading the query string: a bad value is said on the page, never a 500.


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _filter(request: Request) -> tuple[core.BoardFilter, dict[str, str], list[str]]:
    """The filter the query string asks for, the raw values (to refill the form and build
    links) and what could not be read."""
    params = request.query_params
    raw = {name: params.get(name, "").strip()[:200] for name in FILTER_NAMES}
    problems: list[str] = []

    def number(name: str) -> int | None:
        parsed = _int(raw[name])
        if raw[name] and parsed is None:
            problems.append(f"{name}: not a number")
        return parsed

    def day(name: str) -> date | None:
        parsed = _day(raw[name])
        if raw[name] and parsed is None:
            problems.append(f"{name}: not a date (YYYY-MM-DD)")
        return parsed

    status = raw["status"] if raw["status"] in STATUS_OF or raw["status"] in STATUSES else None
    if raw["status"] and status is None:
        problems.append("status: unknown")
    kind = raw["kind"] if raw["kind"] in core.KINDS else None
    if raw["kind"] and kind is None:
        problems.append("kind: unknown")
    flt = core.BoardFilter(
        organization_id=number("org"),
        location_id=number("location"),
        status=status,
        created_on=day("created"),
        booked_on=day("booked"),
        kind=kind,
        query=raw["q"] or None,
    )
    return flt, {k: v for k, v in raw.items() if v}, problems


def _helpers() -> dict[str, Any]:
    return {"money": core.money, "local": _local, "options": core.option_labels}


def _local(at: datetime | None, timezone: str) -> str:
    """A time in the location's own zone, as its people read it."""
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


# ---------------------------------------------------------------------------------------------
# The board


@router.get("/")
async def board(request: Request, signed: Operator) -> Response:
    flt, raw, problems = _filter(request)
    before = _int(request.query_params.get("before"))
    async with signed.state.reads() as session:
        choices = await core.choices(session, signed.operator)
        views = await core.board_page(session, signed.operator, flt, before=before, limit=PAGE)
    newest = views[0].order.id if views else 0
    return render(
        request,
        "board.html",
        {
            "title": "Orders",
            "section": "orders",
            "views": views,
            "choices": choices,
            "raw": raw,
            "problems": problems,
            "statuses": STATUSES,
            "kinds": core.KINDS,
            "live": before is None,
            "poll_url": _rows_url(raw, newest),
            "older_url": (
                f"{PREFIX}/?{urlencode({**raw, 'before': views[-1].order.id})}"
                if len(views) == PAGE
                else None
            ),
            "newest_url": f"{PREFIX}/?{urlencode(raw)}" if before is not None else None,
            "poll_seconds": POLL_SECONDS,
            **_helpers(),
        },
        signed=signed,
    )


def _rows_url(raw: dict[str, str], after: int) -> str:
    return f"{PREFIX}/board/rows?{urlencode({**raw, 'after': after})}"


@router.get("/board/rows")
async def board_rows(request: Request, signed: Operator) -> Response:
    """The orders newer than ``after`` as table rows, with the poller that asks for the next
    ones; nothing new is a 204, which htmx leaves as it is."""
    flt, raw, _ = _filter(request)
    after = _int(request.query_params.get("after")) or 0
    async with signed.state.reads() as session:
        views = await core.board_page(session, signed.operator, flt, after=after, limit=PAGE)
    if not views:
        return Response(status_code=204)
    return render(
        request,
        "board_rows.html",
        {
            "views": views,
            "fresh": True,
            "poll_url": _rows_url(raw, views[0].order.id),
            "poll_seconds": POLL_SECONDS,
            **_helpers(),
        },
        signed=signed,
    )


# ---------------------------------------------------------------------------------------------
# An order


async def _order_page(
    request: Request,
    signed: Signed,
    order_id: int,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    async with signed.state.reads() as session:
        try:
            view = await actions.visible_order(session, signed.operator, order_id)
        except NotFound:
            raise NotVisible from None
        events = await core.events_of(session, order_id)
        deliveries = await core.deliveries_of(session, order_id)
    return _render_order(
        request,
        signed,
        view,
        events=events,
        deliveries=deliveries,
        message=message,
        error=error,
        status_code=status_code,
    )


def _render_order(
    request: Request,
    signed: Signed,
    view: OrderView,
    *,
    events: list[Any],
    deliveries: list[core.DeliveryRow],
    message: str | None,
    error: str | None,
    status_code: int,
) -> Response:
    order = view.order
    counting = (
        order.substatus == "awaiting_confirmation"
        and order.confirmed_at is None
        and order.timed_out_at is None
        and order.countdown_ends_at is not None
    )
    return render(
        request,
        "order.html",
        {
            "title": f"Order #{order.number}",
            "section": "orders",
            "view": view,
            "order": order,
            "events": events,
            "deliveries": deliveries,
            "moves": actions.offered_moves(order),
            "counting": counting,
            "slots": sorted(view.location.slot_capacity or {}),
            "message": message,
            "error": error,
            **_helpers(),
        },
        signed=signed,
        status_code=status_code,
    )


@router.get("/orders/{order_id}")
async def order_page(request: Request, order_id: str, signed: Operator) -> Response:
    parsed = _int(order_id)
    if parsed is None:
        raise NotVisible
    done = DONE.get(request.query_params.get("done", ""))
    return await _order_page(request, signed, parsed, message=done)


# One action on (session, order id, version the form was sent from).
ActionCall = Callable[[AsyncSession, int, int], Awaitable[OrderView]]


class SimpleAction(Protocol):
    def __call__(
        self,
        session: AsyncSession,
        operator: OperatorView,
        order_id: int,
        version: int,
        *,
        now: datetime,
    ) -> Awaitable[OrderView]: ...


def _simple(action: SimpleAction, signed: Signed) -> ActionCall:
    """An action that needs nothing beyond the order and its version (confirm, close,
    cancel), bound to the signed-in operator and the clock."""

    async def call(session: AsyncSession, order_id: int, version: int) -> OrderView:
        return await action(session, signed.operator, order_id, version, now=signed.state.now())

    return call


async def _act(
    request: Request, signed: Signed, order_id: str, done: str, call: ActionCall
) -> Response:
    """Run one action in its own transaction and answer: the order's page on success (a
    redirect, so a reload does not repeat it), else the order as it is now with why nothing
    was changed (409 for a stale version or a move not allowed now, 422 for bad input)."""
    parsed = _int(order_id)
    if parsed is None:
        raise NotVisible
    form = await request.form()
    version = _int(str(form.get("version") or ""))
    if version is None:
        return await _order_page(
            request,
            signed,
            parsed,
            error="This form did not say which version of the order it was sent from. "
            "Reload the page and try again.",
            status_code=422,
        )
    try:
        async with signed.state.transaction() as session:
            await call(session, parsed, version)
    except NotFound:
        raise NotVisible from None
    except StaleOrder as stale:
        current = stale.current
        assert isinstance(current, OrderView)
        return await _order_page(
            request,
            signed,
            parsed,
            error=f"Someone else changed this order: it is now {current.order.substatus} "
            f"(version {current.order.version}). Nothing was changed.",
            status_code=409,
        )
    except ValidationFailed as exc:
        reasons = "; ".join(e.message for e in exc.errors) or exc.message
        return await _order_page(
            request, signed, parsed, error=f"Nothing was changed: {reasons}.", status_code=422
        )
    except Conflict as exc:
        return await _order_page(
            request, signed, parsed, error=f"Nothing was changed: {exc.message}.", status_code=409
        )
    return redirect(request, f"{PREFIX}/orders/{parsed}?done={done}")


@router.post("/orders/{order_id}/confirm")
async def confirm(request: Request, order_id: str, signed: Action) -> Response:
    return await _act(request, signed, order_id, "confirmed", _simple(actions.confirm, signed))


@router.post("/orders/{order_id}/close")
async def close(request: Request, order_id: str, signed: Action) -> Response:
    return await _act(request, signed, order_id, "closed", _simple(actions.close, signed))


@router.post("/orders/{order_id}/cancel")
async def cancel(request: Request, order_id: str, signed: Action) -> Response:
    return await _act(request, signed, order_id, "cancelled", _simple(actions.cancel, signed))


@router.post("/orders/{order_id}/move")
async def move(request: Request, order_id: str, signed: Action) -> Response:
    target = str((await request.form()).get("target") or "")[:40]

    async def call(session: AsyncSession, oid: int, version: int) -> OrderView:
        return await actions.move(
            session, signed.operator, oid, version, target, now=signed.state.now()
        )

    return await _act(request, signed, order_id, "moved", call)


@router.post("/orders/{order_id}/reschedule")
async def reschedule(request: Request, order_id: str, signed: Action) -> Response:
    form = await request.form()
    day = _day(str(form.get("date") or ""))
    slot = str(form.get("slot") or "")[:10]

    async def call(session: AsyncSession, oid: int, version: int) -> OrderView:
        if day is None or not slot:
            raise ValidationFailed(
                errors=[FieldError("preferences", "required", "choose a date and a timeslot")]
            )
        return await actions.reschedule(
            session, signed.operator, oid, version, day, slot, now=signed.state.now()
        )

    return await _act(request, signed, order_id, "rescheduled", call)
