"""Imports every table so that ``Base.metadata`` is complete (migrations, tests)."""

from orderdesk.core.attachments.models import Image
from orderdesk.core.catalog.models import Category, OptionValue, Product, ProductOption, SoldOut
from orderdesk.core.events.models import DeliveryAttempt, OutboxEvent, WebhookDelivery
from orderdesk.core.fulfilment.models import DeliveryZone, Place
from orderdesk.core.idempotency.models import IdempotencyRecord
from orderdesk.core.operators.models import Operator, OperatorSession
from orderdesk.core.orders.models import Order, OrderCount, OrderEvent, OrderLine
from orderdesk.core.organizations.models import (
    ApiClient,
    ApiKey,
    ApiToken,
    ApiUser,
    ClientToken,
    Location,
    LoginThrottle,
    Organization,
    WebhookSubscription,
)
from orderdesk.core.pricing.models import Coupon, CouponGenerator, CouponUse
from orderdesk.core.scheduling.models import CapacityOverride, SlotUsage
from orderdesk.db.base import Base

__all__ = [
    "ApiClient",
    "ApiKey",
    "ApiToken",
    "ApiUser",
    "Base",
    "CapacityOverride",
    "Category",
    "ClientToken",
    "Coupon",
    "CouponGenerator",
    "CouponUse",
    "DeliveryAttempt",
    "DeliveryZone",
    "IdempotencyRecord",
    "Image",
    "Location",
    "LoginThrottle",
    "Operator",
    "OperatorSession",
    "OptionValue",
    "Order",
    "OrderCount",
    "OrderEvent",
    "OrderLine",
    "Organization",
    "OutboxEvent",
    "Place",
    "Product",
    "ProductOption",
    "SlotUsage",
    "SoldOut",
    "WebhookDelivery",
    "WebhookSubscription",
]
