"""Switching off subscriptions whose receiver has been gone for days, and back on.

A receiver that has accepted nothing for days is most likely gone (a decommissioned URL, an
expired domain). Its deliveries would keep being retried and dying, filling the delivery log
and the logs with the same failure, so the background loop disables it and says so once.
Disabling is kept apart from ``active``, which belongs to the setup document: re-applying the
setup does not silently switch a failing receiver back on, and an operator who has fixed the
receiver runs ``orderdesk webhooks enable ID``. Pending deliveries of a disabled subscription
wait; nothing new is queued for it until it is enabled again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.events.models import WebhookDelivery
from orderdesk.core.organizations.models import WebhookSubscription

log = logging.getLogger(__name__)

DEAD_FOR = timedelta(days=3)


class UnknownSubscription(LookupError):
    """No webhook subscription has that id."""


async def disable_failing(
    session: AsyncSession, *, now: datetime, dead_for: timedelta = DEAD_FOR
) -> list[int]:
    """Disable every subscription failing for ``dead_for``; returns their ids.

    A subscription fails for ``dead_for`` when its oldest dead delivery was queued more than
    ``dead_for`` ago and no delivery to it succeeded since. Only deliveries queued after the
    subscription was last enabled count, so an operator who enables it gets ``dead_for`` of
    fresh attempts before it can be disabled again. Runs in the caller's transaction; safe to
    run in several processes (a second disable of the same row changes nothing it reports).
    """
    counted = WebhookDelivery.created_at >= func.coalesce(
        WebhookSubscription.enabled_at, WebhookDelivery.created_at
    )
    oldest_dead = (
        select(
            WebhookDelivery.subscription_id,
            func.min(WebhookDelivery.created_at).label("since"),
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.state == "dead",
            WebhookSubscription.active.is_(True),
            WebhookSubscription.disabled_at.is_(None),
            counted,
        )
        .group_by(WebhookDelivery.subscription_id)
        .having(func.min(WebhookDelivery.created_at) <= now - dead_for)
    )
    disabled: list[int] = []
    for subscription_id, since in (await session.execute(oldest_dead)).all():
        succeeded = await session.scalar(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.subscription_id == subscription_id,
                WebhookDelivery.state == "delivered",
                WebhookDelivery.delivered_at >= since,
            )
            .limit(1)
        )
        if succeeded is not None:
            continue
        url = await session.scalar(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.disabled_at.is_(None),
            )
            .values(disabled_at=now)
            .returning(WebhookSubscription.url)
        )
        if url is None:
            continue  # disabled meanwhile by another process
        log.warning(
            "webhook subscription %s (%s) disabled: no delivery succeeded since %s and dead "
            "deliveries are older than %s; enable it with `orderdesk webhooks enable %s`",
            subscription_id,
            url,
            since.isoformat(),
            dead_for,
            subscription_id,
        )
        disabled.append(subscription_id)
    return disabled


async def enable(session: AsyncSession, subscription_id: int, *, now: datetime) -> bool:
    """Turn a disabled subscription back on; False when it was not disabled.

    Deliveries that were pending resume. Dead ones stay dead (``orderdesk webhooks replay``
    sends them again) and no longer count towards disabling it.
    """
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise UnknownSubscription(f"no webhook subscription {subscription_id}")
    was_disabled = subscription.disabled_at is not None
    subscription.disabled_at = None
    subscription.enabled_at = now
    await session.flush()
    return was_disabled


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    url: str
    state: str  # active | inactive (the setup's) | disabled (failing)
    disabled_at: datetime | None


async def list_subscriptions(session: AsyncSession) -> list[SubscriptionRow]:
    rows = await session.execute(
        select(
            WebhookSubscription.id,
            WebhookSubscription.url,
            WebhookSubscription.active,
            WebhookSubscription.disabled_at,
        ).order_by(WebhookSubscription.id)
    )
    return [
        SubscriptionRow(
            id,
            url,
            "disabled" if disabled_at is not None else "active" if active else "inactive",
            disabled_at,
        )
        for id, url, active, disabled_at in rows
    ]
