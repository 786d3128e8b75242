"""Delivering the outbox: fan-out into per-subscriber deliveries, then signed webhook POSTs.

Guarantees, on SQLite (one process) and on PostgreSQL with any number of dispatcher processes:

* **At least once.** A delivery is claimed by pushing its ``next_attempt_at`` forward by a lease
  in a short committed transaction; the POST happens outside any transaction, and a second short
  transaction records the outcome. A process that dies mid-POST leaves the lease to expire and
  another process retries. Receivers de-duplicate on the event id, the same on every retry and
  for every subscriber: it is sent in ``X-Orderdesk-Event`` and in the body (see
  :data:`EVENT_ID_FIELDS`); ``X-Orderdesk-Delivery`` names this subscriber's copy.
* **No double claim.** Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises
  writers with ``BEGIN IMMEDIATE``), so one delivery is in flight in at most one process.
* **In order per order and subscriber.** A delivery is attempted only while every delivery of
  the same ``ordering_key`` for an earlier event is ``delivered``. A **dead** earlier delivery
  keeps blocking: the spec promises order, and a receiver that sees ``status_changed`` for an
  order it never saw created is worse off than one that waits for an operator to replay
  (``orderdesk.core.events.admin.replay``). Deliveries of other orders are never held up.
* **Retries for 24 h.** Failures (non-2xx, redirects, timeouts, refused or reset connections,
  malformed responses) are retried after 10 s, 20 s, 40 s, ... capped at 1 h, with up to 10 %
  jitter. The 24 h window starts at the delivery's first attempt after it was queued
  (``WebhookDelivery.created_at``: set at fan-out, reset by a replay), which is the event's
  creation time in normal operation; a delivery queued behind a blocked one, or created while no
  dispatcher was running, still gets its full 24 h of retrying. A failure after the window
  closes makes the delivery ``dead``.

Fan-out is serialised across processes with a PostgreSQL transaction-level advisory lock rather
than run in parallel with ``SKIP LOCKED``: two processes fanning out two halves of one order's
events could commit them in the wrong order, and fan-out is a few inserts per event, so one
process at a time is plenty. Deliveries of inactive subscriptions are neither created nor sent;
pending ones resume if the subscription is activated again. The same holds for a subscription
disabled because it has been failing for days (:mod:`orderdesk.core.events.health`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, Self

import httpx
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from orderdesk import metrics
from orderdesk.core.events.models import DeliveryAttempt, OutboxEvent, WebhookDelivery
from orderdesk.core.events.signing import signer_for
from orderdesk.core.organizations.models import Organization, WebhookSubscription
from orderdesk.db.base import utcnow
from orderdesk.db.engine import transaction
from orderdesk.db.upsert import insert_for, is_postgres

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ClientFactory = Callable[[], httpx.AsyncClient]

RETRY_WINDOW = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)
MIN_LEASE = timedelta(seconds=60)
USER_AGENT = "orderdesk-webhooks"
_FAN_OUT_LOCK = 0x6F72_6465_7766  # "orderf"
_ERROR_BODY_BYTES = 200

EVENT_ID_FIELDS: dict[str, str] = {"partner": "id", "restaurant": "event_id"}
"""Organization kind → the body field carrying the event id, named in each dialect's style and
documented in its webhook payload models. The id is only known once the outbox row exists, after
the dialect rendered the payload, so it is added when the body is built; kinds missing here get
``event_id``."""


def _receivable() -> ColumnElement[bool]:
    """Subscriptions that get deliveries: switched on in the setup and not disabled for failing."""
    return WebhookSubscription.active.is_(True) & WebhookSubscription.disabled_at.is_(None)


class _EventKey(Protocol):
    id: int
    order_id: int | None


def ordering_key(subscription_id: int, event: _EventKey) -> str:
    """Deliveries sharing a key go out strictly in event order.

    Events without an order are keyed by their own id under a distinct prefix, so that an
    order-less event can never hold up an order whose id happens to equal the event's id.
    """
    if event.order_id is not None:
        return f"{subscription_id}:{event.order_id}"
    return f"{subscription_id}:event-{event.id}"


def backoff(attempt: int) -> timedelta:
    """The wait after the ``attempt``-th failure (1-based) in the current retry window.

    The jitter keeps deliveries that failed together (a receiver outage) from retrying in
    lockstep.
    """
    doublings: int = 2 ** min(max(attempt, 1) - 1, 20)
    base = min(FIRST_RETRY * doublings, MAX_RETRY)
    return base * random.uniform(1.0, 1.1)


async def fan_out(session: AsyncSession, *, now: datetime, batch: int = 500) -> int:
    """Turn up to ``batch`` unpublished events, oldest first, into deliveries; mark them published.

    One delivery per event and *active* subscription of the event's organization; events of
    organizations without one are just marked published. Runs in the caller's transaction;
    returns the number of events published (0 when another process holds the fan-out lock).
    The ``(event_id, subscription_id)`` unique constraint plus ``ON CONFLICT DO NOTHING`` make
    re-publishing an event (``published_at`` reset by hand) add only the missing deliveries.
    """
    if is_postgres(session):
        locked = await session.scalar(select(func.pg_try_advisory_xact_lock(_FAN_OUT_LOCK)))
        if not locked:
            return 0
    # Only what fan-out needs: the payloads (the bulk of a row) are read by the delivery.
    events = (
        await session.execute(
            select(OutboxEvent.id, OutboxEvent.organization_id, OutboxEvent.order_id)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(batch)
        )
    ).all()
    if not events:
        return 0
    subscriptions: dict[int, list[int]] = defaultdict(list)
    rows = await session.execute(
        select(WebhookSubscription.organization_id, WebhookSubscription.id)
        .where(
            WebhookSubscription.organization_id.in_({e.organization_id for e in events}),
            _receivable(),
        )
        .order_by(WebhookSubscription.id)
    )
    for organization_id, subscription_id in rows:
        subscriptions[organization_id].append(subscription_id)
    deliveries = [
        {
            "event_id": event.id,
            "subscription_id": subscription_id,
            "ordering_key": ordering_key(subscription_id, event),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        for subscription_id in subscriptions[event.organization_id]
    ]
    if deliveries:
        await session.execute(
            insert_for(session, WebhookDelivery).on_conflict_do_nothing(
                index_elements=["event_id", "subscription_id"]
            ),
            deliveries,
        )
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([e.id for e in events]))
        .values(published_at=now)
    )
    return len(events)


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    event_id: int
    payload: dict[str, Any]
    url: str
    secret: str
    organization_kind: str
    lease_until: datetime


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _claim_due(
    session: AsyncSession, *, now: datetime, batch: int, lease_until: datetime
) -> list[_Claim]:
    earlier = aliased(WebhookDelivery)
    blocked = (
        select(earlier.id)
        .where(
            earlier.ordering_key == WebhookDelivery.ordering_key,
            earlier.event_id < WebhookDelivery.event_id,
            earlier.state != "delivered",
        )
        .exists()
    )
    query = (
        select(
            WebhookDelivery.id,
            OutboxEvent.id,
            OutboxEvent.payload,
            WebhookSubscription.url,
            WebhookSubscription.secret,
            Organization.kind,
        )
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(Organization, Organization.id == WebhookSubscription.organization_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            _receivable(),
            ~blocked,
        )
        .order_by(WebhookDelivery.id)
        .limit(batch)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    claims = [
        _Claim(delivery_id, event_id, payload, url, secret, kind, lease_until)
        for delivery_id, event_id, payload, url, secret, kind in await session.execute(query)
    ]
    if claims:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([c.delivery_id for c in claims]))
            .values(next_attempt_at=lease_until)
        )
    return claims


def request_body(organization_kind: str, event_id: int, stored: dict[str, Any]) -> bytes:
    """The stored payload with the event id first, so a receiver sees it before the data.
    The exact bytes every attempt sends (and the console shows)."""
    field = EVENT_ID_FIELDS.get(organization_kind, "event_id")
    payload = {field: str(event_id)}
    payload.update((k, v) for k, v in stored.items() if k != field)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def request_headers(
    organization_kind: str, event_id: int, delivery_id: int, signature: dict[str, str]
) -> dict[str, str]:
    """The headers of an attempt, ``signature`` being the signer's headers for its body."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Orderdesk-Event": str(event_id),
        "X-Orderdesk-Delivery": str(delivery_id),
        **signature,
    }


def _request_body(claim: _Claim) -> bytes:
    return request_body(claim.organization_kind, claim.event_id, claim.payload)


async def _post(
    client: httpx.AsyncClient, claim: _Claim, *, now: datetime, request_timeout: float
) -> _Outcome:
    """One POST; never raises for anything the receiver or the network does."""
    body = _request_body(claim)
    headers = request_headers(
        claim.organization_kind,
        claim.event_id,
        claim.delivery_id,
        signer_for(claim.organization_kind)(body, claim.secret, now),
    )
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(request_timeout):
            request = client.build_request(
                "POST", claim.url, content=body, headers=headers, timeout=request_timeout
            )
            response = await client.send(request, stream=True)
            try:
                status = response.status_code
                if not 200 <= status < 300:
                    excerpt = b""
                    async for chunk in response.aiter_raw():
                        excerpt += chunk
                        if len(excerpt) >= _ERROR_BODY_BYTES:
                            break
                    text = excerpt[:_ERROR_BODY_BYTES].decode(errors="replace").strip()
                    error = f"HTTP {status}" + (f": {text}" if text else "")
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {request_timeout:g} s"
    except Exception as exc:  # the receiver's side is outside our control: record, retry
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
    duration_ms = round((time.monotonic() - started) * 1000)
    return _Outcome(status, error[:1000] if error else None, duration_ms)


async def _record(
    session: AsyncSession, claim: _Claim, outcome: _Outcome, *, now: datetime
) -> str | None:
    """Record one attempt; the state it leaves the delivery in (``delivered``, ``retry``,
    ``dead``), or ``None`` when a newer schedule made this attempt's outcome moot."""
    delivery = await session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
    if delivery is None:
        return None
    earlier_attempts, window_opened = (
        await session.execute(
            select(func.count(), func.min(DeliveryAttempt.at)).where(
                DeliveryAttempt.delivery_id == delivery.id,
                DeliveryAttempt.at >= delivery.created_at,
            )
        )
    ).one()
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.delivered:
        delivery.state = "delivered"
        delivery.delivered_at = now
        return "delivered"
    if delivery.state != "pending" or delivery.next_attempt_at != claim.lease_until:
        return None  # replayed or re-claimed meanwhile: that newer schedule stands
    if now >= (window_opened or now) + RETRY_WINDOW:
        delivery.state = "dead"
        log.warning(
            "webhook delivery %s is dead after %s attempts: %s",
            delivery.id,
            delivery.attempts,
            outcome.error,
        )
        return "dead"
    delivery.next_attempt_at = now + backoff(earlier_attempts + 1)
    return "retry"


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    *,
    now: datetime,
    batch: int = 50,
    timeout: float = 10.0,  # noqa: ASYNC109 - bounds each POST, not the call
) -> int:
    """Claim up to ``batch`` due deliveries, POST them concurrently, record each outcome.

    Returns the number of deliveries attempted. At most one delivery per ordering key is claimed
    in a round (only the earliest undelivered one is eligible), so sending a batch concurrently
    never reorders an order's events. ``timeout`` bounds each whole POST; the lease is longer
    (at least 60 s) so a slow receiver is never attempted twice at once.
    """
    lease_until = now + max(MIN_LEASE, timedelta(seconds=2 * timeout))
    async with transaction(sessions) as session:
        claims = await _claim_due(session, now=now, batch=batch, lease_until=lease_until)

    async def attempt(claim: _Claim) -> None:
        outcome = await _post(client, claim, now=now, request_timeout=timeout)
        async with transaction(sessions) as session:
            state = await _record(session, claim, outcome, now=now)
        if state is not None:  # counted once committed
            metrics.webhook_delivery(state)

    results = await asyncio.gather(*(attempt(c) for c in claims), return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        raise ExceptionGroup("recording webhook delivery outcomes failed", failures)
    return len(claims)


def default_client() -> httpx.AsyncClient:
    """Redirects are not followed: a 3xx is a misconfigured URL and is retried as a failure."""
    return httpx.AsyncClient(
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


class Dispatcher:
    """The delivery loop one worker process runs; any number may run against one PostgreSQL."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utcnow,
        poll_interval: float = 1.0,
        client_factory: ClientFactory = default_client,
        batch: int = 50,
        timeout: float = 10.0,
        gather: float = 0.1,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._poll_interval = poll_interval
        self._client_factory = client_factory
        self._batch = batch
        self._timeout = timeout
        self._gather = min(gather, poll_interval)
        self._client: httpx.AsyncClient | None = None

    async def run_once(self) -> int:
        """One round: fan out, then deliver what is due. Returns events published + attempts."""
        async with transaction(self._sessions) as session:
            published = await fan_out(session, now=self._clock())
        if self._client is None:
            self._client = self._client_factory()
        attempted = await deliver_due(
            self._sessions,
            self._client,
            now=self._clock(),
            batch=self._batch,
            timeout=self._timeout,
        )
        return published + attempted

    async def run(self, stop: asyncio.Event) -> None:
        """Run rounds until ``stop`` is set; a failing round is logged and the loop goes on.

        Rounds follow each other immediately while there is a backlog (a full batch), ``gather``
        seconds apart while work trickles in (orders arriving one by one are fanned out several
        at a time), and ``poll_interval`` apart when idle (or after a failure, so a database
        outage is not hammered).
        """
        try:
            while not stop.is_set():
                try:
                    busy = await self.run_once()
                except Exception:
                    log.exception("webhook dispatch round failed")
                    busy = 0
                if busy >= self._batch:
                    await asyncio.sleep(0)  # a backlog: the next round at once
                    continue
                if busy:
                    # Some work, no backlog: wait a moment so that the next round takes the
                    # events of many orders at once instead of one round per order (a round
                    # costs the same few statements whatever its size).
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._gather)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_interval)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
