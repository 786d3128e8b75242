"""Imports every table so that ``Base.metadata`` is complete (migrations, tests)."""

from orderdesk.core.attachments.models import Image
from orderdesk.core.catalog.models import Category, Product
from orderdesk.core.events.models import OutboxEvent
from orderdesk.core.fulfilment.models import Place
from orderdesk.core.idempotency.models import IdempotencyRecord
from orderdesk.core.orders.models import Order, OrderEvent, OrderLine
from orderdesk.core.organizations.models import (
    ApiToken,
    ApiUser,
    Location,
    LoginThrottle,
    Organization,
    WebhookSubscription,
)
from orderdesk.core.scheduling.models import CapacityOverride, SlotUsage
from orderdesk.db.base import Base

__all__ = [
    "ApiToken", "ApiUser", "Base", "CapacityOverride", "Category", "IdempotencyRecord", "Image",
    "Location", "LoginThrottle", "Order", "OrderEvent", "OrderLine", "Organization", "OutboxEvent",
    "Place", "Product", "SlotUsage", "WebhookSubscription",
]
