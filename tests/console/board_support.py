"""Data for the console's order tests, built through the client APIs and the operator service:
partner and restaurant orders, and operators of every role."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import select
from tests.dialects.partner.orders_support import create, local_day
from tests.dialects.restaurant.order_support import create_ok, pickup_body, restaurant
from tests.factories import PartnerSetup, RestaurantSetup, login, make_partner, order_body

from orderdesk.core.operators.service import OperatorView, create_operator
from orderdesk.core.orders.models import Order
from orderdesk.http.state import AppState

OPERATOR_PASSWORD = "operator password 1"


async def make_operator(
    state: AppState, role: str = "dispatcher", organization: str | None = None
) -> OperatorView:
    """A new operator with a unique email (staff of ``organization``: a partner name or a
    restaurant uid)."""
    async with state.transaction() as session:
        return await create_operator(
            session,
            email=f"op-{secrets.token_hex(4)}@console.example",
            password=OPERATOR_PASSWORD,
            role=role,
            organization=organization,
            name=f"Operator {role}",
            now=state.now(),
        )


async def partner_order(
    client: httpx.AsyncClient,
    state: AppState,
    partner: PartnerSetup | None = None,
    *,
    slot: str = "1217",
    offset: int = 2,
    **overrides: Any,
) -> tuple[PartnerSetup, int]:
    """A partner order in stock, booked on the store's local today + ``offset`` at ``slot``."""
    partner = partner or await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), offset), slot)], **overrides)
    data = await create(client, headers, body)
    return partner, int(data["_id"])


async def restaurant_order(
    client: httpx.AsyncClient, state: AppState, r: RestaurantSetup | None = None
) -> tuple[RestaurantSetup, int]:
    """A customer's pickup order at a restaurant that confirms by hand: it waits for the
    restaurant's confirmation with its countdown running (the clock must be at
    ``order_support.NOW``)."""
    r = r or await restaurant(state)
    order = await create_ok(client, r, pickup_body(r, creator="customer"))
    return r, await order_id(state, order["uid"])


async def order_id(state: AppState, uid: str) -> int:
    async with state.reads() as session:
        found = await session.scalar(select(Order.id).where(Order.uid == uid))
    assert found is not None
    return found


async def order_row(state: AppState, order_id: int) -> Order:
    async with state.reads() as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order
