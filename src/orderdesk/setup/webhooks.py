"""Webhook subscriptions from the setup document, for partners and restaurants alike.

A subscription is keyed by (organization, URL): applying the document again leaves it alone,
a changed secret is updated in place, and one that was switched off is switched back on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.organizations.models import Organization, WebhookSubscription
from orderdesk.setup.rows import assign
from orderdesk.setup.schema import WebhookSpec

if TYPE_CHECKING:
    from orderdesk.setup.apply import ApplyReport

# (the owner's key in the document, its organization, its webhooks)
Subscriber = tuple[str, Organization, Sequence[WebhookSpec]]


async def apply_webhooks(
    session: AsyncSession, subscribers: Sequence[Subscriber], report: ApplyReport
) -> None:
    subscribers = [s for s in subscribers if s[2]]
    if not subscribers:
        return
    rows = await session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.organization_id.in_([org.id for _, org, _ in subscribers])
        )
    )
    existing = {(hook.organization_id, hook.url): hook for hook in rows}
    for key, org, specs in subscribers:
        for spec in specs:
            label = f"webhook {key} {spec.url}"
            hook = existing.get((org.id, spec.url))
            if hook is None:
                session.add(
                    WebhookSubscription(
                        organization_id=org.id, url=spec.url, secret=spec.secret, active=True
                    )
                )
                report.record(label, created=True)
            else:
                report.record(label, changed=assign(hook, secret=spec.secret, active=True))
