"""Webhook deliveries: the list (newest first, a page at a time), one delivery's request and
answers, and sending it again.

Reads and the replay go through :mod:`orderdesk.core.events.admin`, as ``orderdesk webhooks``
does. Staff see only their organization's deliveries; another organization's delivery is
answered like a missing page. A replay is kept on the delivery with the operator's name and
time (``replayed_by``, ``replayed_at``) and written to the log.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from orderdesk.console.problems import refused
from orderdesk.console.web import PREFIX, Action, NotVisible, Operator, redirect, render
from orderdesk.core.events import admin
from orderdesk.core.operators.visibility import visible_organizations

router = APIRouter()
SECTION = "webhooks"
PAGE_SIZE = 50
log = logging.getLogger("orderdesk.console")


def _list_url(state: str, organization: str, before: int | None = None) -> str:
    params = {k: v for k, v in (("state", state), ("org", organization)) if v}
    if before is not None:
        params["before"] = str(before)
    return f"{PREFIX}/webhooks" + (f"?{urlencode(params)}" if params else "")


@router.get("/webhooks")
async def deliveries(
    request: Request,
    signed: Operator,
    state: Annotated[str, Query(max_length=20)] = "",
    org: Annotated[str, Query(max_length=20)] = "",
    before: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    viewer = signed.operator
    if (state and state not in admin.DELIVERY_STATES) or (before and not before.isdigit()):
        return refused(
            request,
            signed,
            f"state is one of {', '.join(admin.DELIVERY_STATES)}; before is a delivery id",
            section=SECTION,
            back=f"{PREFIX}/webhooks",
            status_code=400,
        )
    if viewer.organization_id is not None:
        organization_id: int | None = viewer.organization_id  # staff: their own, always
    elif org:
        if not org.isdigit():
            raise NotVisible
        organization_id = int(org)
    else:
        organization_id = None
    async with signed.state.reads() as session:
        organizations = await visible_organizations(session, viewer)
        rows = await admin.list_deliveries(
            session,
            state=state or None,
            limit=PAGE_SIZE + 1,
            organization_id=organization_id,
            before_id=int(before) if before else None,
        )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        request,
        "webhooks.html",
        {
            "section": SECTION,
            "title": "Webhook deliveries",
            "rows": rows,
            "states": admin.DELIVERY_STATES,
            "state": state,
            "org": org,
            "organizations": organizations if viewer.organization_id is None else [],
            "first_page": _list_url(state, org) if before else None,
            "next_page": _list_url(state, org, rows[-1].id) if more else None,
        },
        signed=signed,
    )


async def _visible_detail(signed: Operator, delivery_id: int) -> admin.DeliveryDetail:
    async with signed.state.reads() as session:
        found = await admin.delivery_detail(session, delivery_id)
    if found is None or not signed.operator.sees(found.organization_id):
        raise NotVisible
    return found


@router.get("/webhooks/{delivery_id}")
async def delivery(request: Request, signed: Operator, delivery_id: int) -> Response:
    found = await _visible_detail(signed, delivery_id)
    return render(
        request,
        "webhook.html",
        {"section": SECTION, "title": f"Delivery {found.id}", "d": found},
        signed=signed,
    )


@router.post("/webhooks/{delivery_id}/replay")
async def replay(request: Request, signed: Action, delivery_id: int) -> Response:
    """Send the delivery again, due at once (``orderdesk webhooks replay <id>``)."""
    await _visible_detail(signed, delivery_id)
    state = signed.state
    async with state.transaction() as session:
        queued = await admin.replay(
            session, [delivery_id], dead_only=False, now=state.now(), actor=signed.operator.actor
        )
    log.info(
        "webhook delivery %s replayed by %s (%s queued)", delivery_id, signed.operator.actor, queued
    )
    return redirect(request, f"{PREFIX}/webhooks/{delivery_id}")
