"""Helpers for the end-to-end webhook tests: a whole app on its own database, a receiver that can
go down, the calls that make orders in both dialects, and what the receiver got, by order.

The dispatcher sends every due delivery of the database it runs against, and ``expire_countdowns``
times out every due order in it; each end-to-end test therefore gets a database of its own
instead of the session's shared one, so it neither sends other tests' events nor touches their
orders.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from orderdesk.app import create_app
from orderdesk.background import Background
from orderdesk.core.events.dispatcher import Dispatcher
from orderdesk.core.events.models import DeliveryAttempt, OutboxEvent, WebhookDelivery
from orderdesk.http.state import AppState
from orderdesk.settings import Settings
from tests.conftest import FakeClock
from tests.core.events.conftest import ReceivedRequest, Receiver
from tests.factories import (
    MILANO_PLACES,
    PartnerSetup,
    RestaurantSetup,
    apply_document,
    login,
    make_partner,
    make_restaurant,
)

# ---------------------------------------------------------------------------------------------
# A receiver that can be switched off: connections are refused while it is down


@dataclass
class SwitchableReceiver(Receiver):
    _bound_port: int | None = field(default=None)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._bound_port or 0)
        self._bound_port = int(self._server.sockets[0].getsockname()[1])

    @property
    def port(self) -> int:
        assert self._bound_port is not None
        return self._bound_port

    @property
    def up(self) -> bool:
        return self._server is not None

    async def go_down(self) -> None:
        """Stop listening and drop open connections: every POST now fails to connect."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def come_up(self) -> None:
        """Listen again on the same port, so the subscribed URLs work again."""
        await self.start()

    async def close(self) -> None:
        if self._server is None:
            self._closing.set()
            return
        await super().close()


def plain_signature(secret: str, body: bytes) -> str:
    """The restaurant contract's signature, computed here independently of orderdesk's code."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def order_key(request: ReceivedRequest) -> str:
    """Which order a webhook is about: the restaurant ``order.uid`` or the partner ``data._id``."""
    payload = request.payload
    if "order" in payload:
        return f"restaurant:{payload['order']['uid']}"
    return f"partner:{payload['data']['_id']}"


def delivered_events_by_order(receiver: Receiver) -> dict[str, list[str]]:
    """Per order, the event names the receiver accepted, in arrival order, each event once."""
    seen: set[int] = set()
    result: dict[str, list[str]] = defaultdict(list)
    for request in receiver.delivered():
        if request.event_id in seen:
            continue
        seen.add(request.event_id)
        result[order_key(request)].append(request.payload["event"])
    return dict(result)


def assert_sent_in_order_per_order(receiver: Receiver) -> None:
    """Per endpoint and order: no event was sent before every earlier one was accepted, and the
    accepted ones arrived in event id (outbox) order."""
    by_key: dict[tuple[str, str], list[ReceivedRequest]] = defaultdict(list)
    for request in receiver.requests:
        by_key[request.path, order_key(request)].append(request)
    for key, requests in by_key.items():
        accepted: list[int] = []
        for request in requests:
            earlier = {r.event_id for r in requests if r.event_id < request.event_id}
            assert earlier <= set(accepted), (key, request.event_id, accepted)
            if (
                request.answered is not None
                and 200 <= request.answered < 300
                and request.event_id not in accepted
            ):
                accepted.append(request.event_id)
        assert accepted == sorted(accepted), (key, accepted)


# ---------------------------------------------------------------------------------------------
# The whole stack on one database


@dataclass
class Stack:
    """The app (no background loops), its HTTP client, the hand-moved clock every part reads,
    a dispatcher and the background loops to drive by hand, and a real receiver."""

    state: AppState
    client: httpx.AsyncClient
    clock: FakeClock
    dispatcher: Dispatcher
    background: Background
    receiver: SwitchableReceiver

    async def rounds(self, limit: int = 100) -> int:
        """Dispatcher rounds at the current time until one finds nothing to do; returns how many
        deliveries were attempted (counted in the delivery log)."""
        attempted_before = await self.attempt_count()
        for _ in range(limit):
            if not await self.dispatcher.run_once():
                return await self.attempt_count() - attempted_before
        raise AssertionError(f"the dispatcher was still busy after {limit} rounds")

    async def next_due(self) -> Any:
        async with self.state.sessions() as session:
            return await session.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(
                    WebhookDelivery.state == "pending",
                    WebhookDelivery.next_attempt_at > self.clock(),
                )
            )

    async def drain(self, *, until: datetime | None = None, max_jumps: int = 1000) -> int:
        """Rounds, jumping the clock to the next scheduled retry whenever nothing is due, until
        nothing is left to try (or the next retry is not before ``until``); returns how many
        times the clock jumped."""
        for jumps in itertools.count():
            await self.rounds()
            due = await self.next_due()
            if due is None or (until is not None and due >= until):
                return jumps
            assert jumps < max_jumps, "deliveries did not settle"
            self.clock.set(due)
        raise AssertionError("unreachable")

    async def attempt_count(self) -> int:
        async with self.state.sessions() as session:
            count: int = (
                await session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0
            )
            return count

    async def deliveries(self) -> list[tuple[WebhookDelivery, OutboxEvent]]:
        async with self.state.sessions() as session:
            rows = await session.execute(
                select(WebhookDelivery, OutboxEvent)
                .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                .order_by(WebhookDelivery.id)
            )
            return [(d, e) for d, e in rows]

    async def attempts(self) -> list[DeliveryAttempt]:
        async with self.state.sessions() as session:
            return list(await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))

    async def outbox(self) -> list[OutboxEvent]:
        async with self.state.sessions() as session:
            return list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))

    # -- restaurants ---------------------------------------------------------------------------

    async def restaurant(self, **overrides: Any) -> tuple[RestaurantSetup, str]:
        """A restaurant subscribed to the receiver; returns it and its webhook secret."""
        secret = f"whsec-{secrets.token_hex(8)}"
        url = self.receiver.endpoint("restaurant", secret)
        r = await make_restaurant(
            self.state, places=MILANO_PLACES, webhooks=[{"url": url, "secret": secret}], **overrides
        )
        return r, secret

    async def restaurant_order(
        self, r: RestaurantSetup, *, slot: int = 0, creator: str = "customer"
    ) -> dict[str, Any]:
        """A pickup order through ``POST /api/order/create``; returns its ``order`` object."""
        times = await self.client.post(
            "/api/order/pickup_delivery_times",
            headers=r.client_headers,
            json={"dmethod": "0", "subrestaurant_uid": r.locations[0]},
        )
        assert times.json()["success"], times.text
        when = times.json()["data"]["pickup_times"][slot]["date"]
        body = {
            "client": {
                "first_name": "Anna",
                "last_name": "Rossi",
                "email": "anna@example.com",
                "phone": "02 1234567",
            },
            "dmethod": "0",
            "payment_method": "cash",
            "payment_method_sub": "pos",
            "subrestaurant_uid": r.locations[0],
            "pickup": {"date": when},
            "details": [
                {
                    "product": {"uid": f"{r.uid}-margherita"},
                    "quantity": 2,
                    "options": [{"uid": f"{r.uid}-size", "values": [{"uid": "maxi"}]}],
                }
            ],
            "creator": creator,
        }
        created = await self.client.post("/api/order/create", headers=r.client_headers, json=body)
        assert created.json()["success"], created.text
        order: dict[str, Any] = created.json()["order"]
        return order

    async def restaurant_call(
        self, r: RestaurantSetup, action: str, order: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /api/order/confirm`` or ``/api/order/close`` with the order's uid and token."""
        response = await self.client.post(
            f"/api/order/{action}",
            headers=r.key_headers,
            params={"uid": order["uid"], "token": order["token"]},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def restaurant_get(self, r: RestaurantSetup, uid: str) -> dict[str, Any]:
        response = await self.client.get(
            "/api/orders/get", headers=r.key_headers, params={"uid": uid}
        )
        assert response.json()["success"], response.text
        order: dict[str, Any] = response.json()["order"]
        return order

    # -- partners ------------------------------------------------------------------------------

    async def partner(self) -> tuple[PartnerSetup, str, dict[str, str]]:
        """A partner whose setup document declares a subscriber at the receiver; returns it,
        the webhook secret and login headers."""
        partner = await make_partner(self.state)
        secret = f"whsec-{secrets.token_hex(8)}"
        partner.document["partners"][0]["webhooks"] = [
            {"url": self.receiver.endpoint("partner", secret), "secret": secret}
        ]
        await apply_document(self.state, partner.document)
        return partner, secret, await login(self.client, partner)

    async def partner_list_item(self, headers: dict[str, str], order_id: int) -> dict[str, Any]:
        response = await self.client.get(
            "/partner/order/list", headers=headers, params={"limit": 100}
        )
        assert response.status_code == 200, response.text
        [item] = [o for o in response.json()["data"] if o["_id"] == order_id]
        return dict(item)


@asynccontextmanager
async def stack_on(database_url: str, media_dir: Path, clock: FakeClock) -> AsyncIterator[Stack]:
    settings = Settings(database_url=database_url, media_dir=media_dir)
    app = create_app(settings, clock=clock, background=False)
    receiver = SwitchableReceiver(clock)
    await receiver.start()
    try:
        async with app.router.lifespan_context(app):
            state: AppState = app.state.orderdesk
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://testserver") as c,
                Dispatcher(state.sessions, clock=clock, timeout=5.0) as dispatcher,
            ):
                background = Background(state.sessions, clock)
                try:
                    yield Stack(state, c, clock, dispatcher, background, receiver)
                finally:
                    await background.dispatcher.aclose()
    finally:
        await receiver.close()
