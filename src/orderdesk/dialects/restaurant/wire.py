"""The restaurant dialect's exact JSON shapes, in and out.

Money is integer minor units inside and a JSON number in major units here (``17.5`` is
EUR 17.50), converted exactly with the currency's precision. Times go out as local
``YYYY-MM-DD HH:MM:SS`` in ``date`` and as UTC ISO 8601 in ``date_iso``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderdesk.core.orders.schemas import OrderView

Uid = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(max_length=1000)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320,
                                         pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z]{2}$")]


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class ClientIn(Wire):
    first_name: Text
    last_name: Text
    email: Email
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ValueIn(Wire):
    uid: Uid
    quantity: Annotated[int, Field(ge=1, le=99)] = 1


class OptionIn(Wire):
    uid: Uid
    values: Annotated[list[ValueIn], Field(max_length=50)] = []


class ProductRefIn(Wire):
    uid: Uid


class DetailIn(Wire):
    product: ProductRefIn
    quantity: Annotated[int, Field(ge=1, le=99)]
    notes: Note = ""
    options: Annotated[list[OptionIn], Field(max_length=50)] = []


class WhenIn(Wire):
    date: dt.datetime


class PlaceRefIn(Wire):
    place_id: Uid
    doorbell: Annotated[str, StringConstraints(max_length=100)] = ""
    floor: Annotated[str, StringConstraints(max_length=50)] = ""


class DeliveryIn(Wire):
    date: dt.datetime
    address: PlaceRefIn


class CouponIn(Wire):
    code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class CreateOrderIn(Wire):
    """Body of ``POST /api/order/create`` as on the original order-create page."""

    client: ClientIn
    dmethod: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    payment_method: Literal["cash", "invoice", "external"]
    details: Annotated[list[DetailIn], Field(min_length=1, max_length=100)]
    subrestaurant_uid: Uid | None = None
    language: Language | None = None
    pickup: WhenIn | None = None
    delivery: DeliveryIn | None = None
    payment_method_sub: Annotated[str, StringConstraints(max_length=50)] | None = None
    coupon: CouponIn | None = None
    notes: Note = ""
    creator: Literal["customer", "restaurant"] = "customer"


class ValidateAddressIn(Wire):
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    street: Annotated[str, StringConstraints(max_length=200)] | None = None
    number: Annotated[str, StringConstraints(max_length=20)] | None = None
    city: Annotated[str, StringConstraints(max_length=100)] | None = None
    province: Annotated[str, StringConstraints(max_length=50)] | None = None
    zip: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Annotated[str, StringConstraints(max_length=2)] | None = None
    language: Language | None = None


class TimesIn(Wire):
    dmethod: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    subrestaurant_uid: Uid | None = None
    place_id: Uid | None = None
    language: Language | None = None


# --------------------------------------------------------------------------------------------
# Responses


def money(minor: int, currency: str) -> float | int:
    """Exact major units: ``1750`` EUR -> ``17.5``; zero-decimal currencies stay integers."""
    precision = get_currency_precision(currency)
    if precision == 0:
        return minor
    return float(Decimal(minor).scaleb(-precision))


def local_text(value: dt.datetime | None, timezone: str) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _when(value: dt.datetime | None, timezone: str) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"date": local_text(value, timezone), "date_iso": iso(value)}


def client_uid(organization_key: str, customer: dict[str, Any]) -> str:
    """A stable customer id per restaurant, derived from the e-mail address (or phone)."""
    who = (customer.get("email") or customer.get("phone") or "").lower()
    return hashlib.sha256(f"{organization_key}:{who}".encode()).hexdigest()[:16]


def confirmation(view: OrderView) -> dict[str, Any]:
    order = view.order
    tz = view.location.timezone
    countdown = None
    if order.countdown_started_at and order.countdown_ends_at:
        countdown = int((order.countdown_ends_at - order.countdown_started_at).total_seconds())
    return {
        "confirmed": order.confirmed_at is not None,
        "countdown_time": countdown,
        "countdown_started": local_text(order.countdown_started_at, tz),
        "countdown_end": local_text(order.countdown_ends_at, tz),
        "timeout": order.timed_out_at is not None,
        "closed": order.closed_at is not None,
        "date": local_text(order.confirmed_at, tz),
    }


def render_order(view: OrderView) -> dict[str, Any]:
    order = view.order
    tz = view.location.timezone
    cur = order.currency
    fulfilment = order.fulfilment
    dmethod = str(fulfilment.get("dmethod", ""))
    address = order.address
    details = []
    for line in order.lines:
        snap = line.snapshot
        details.append({
            "product": {"uid": snap.get("uid"), "name": line.name,
                        "price": money(line.unit_price, cur), "category": snap.get("category"),
                        "category_uid": snap.get("category_uid"), "ext_id": snap.get("ext_id")},
            "options": [
                {"uid": o["uid"], "name": o["name"], "type": o["type"], "values": [
                    {"uid": v["uid"], "name": v["name"], "price_operator": v["price_operator"],
                     "price_operand": money(v["price_operand"], cur), "quantity": v["quantity"],
                     "ext_id": v.get("ext_id")} for v in o["values"]]}
                for o in line.options],
            "price": money(line.unit_price, cur),
            "price_options": money(line.options_price, cur),
            "quantity": line.quantity,
            "total": money(line.total, cur),
            "notes": line.notes,
        })
    customer = order.customer
    return {
        "uid": order.uid,
        "token": order.token,
        "date": local_text(order.created_at, tz),
        "date_iso": iso(order.created_at),
        "number": order.number,
        "order_number": str(order.number),
        "client": {"uid": client_uid(view.organization_key, customer),
                   "first_name": customer.get("first_name"),
                   "last_name": customer.get("last_name"),
                   "phone": customer.get("phone"), "email": customer.get("email")},
        "details": details,
        "dmethod": dmethod,
        "fee": money(order.delivery_fee, cur),
        "payment_method": order.payment_method,
        "payment_method_sub": fulfilment.get("payment_method_sub"),
        "paid": order.paid,
        "total": money(order.total, cur),
        "currency": cur,
        "closed": order.closed_at is not None,
        "subrestaurant_uid": view.location.key,
        "notes": order.notes,
        "pickup": _when(order.scheduled_at, tz) if dmethod != "1" else None,
        "delivery": (
            {**(_when(order.scheduled_at, tz) or {}), "address": address}
            if dmethod == "1" else None
        ),
        "coupon": ({"code": order.coupon_code, "discount": money(order.discount, cur)}
                   if order.coupon_code else None),
        "confirmation": confirmation(view),
    }


def render_created(view: OrderView) -> dict[str, Any]:
    order = view.order
    tz = view.location.timezone
    dmethod = str(order.fulfilment.get("dmethod", ""))
    return {
        "uid": order.uid,
        "token": order.token,
        "order_number": str(order.number),
        "total": money(order.total, order.currency),
        "date": local_text(order.created_at, tz),
        "confirmed": order.confirmed_at is not None,
        "delivery_fee": money(order.delivery_fee, order.currency),
        "pickup_date": local_text(order.scheduled_at, tz) if dmethod != "1" else None,
        "delivery_date": local_text(order.scheduled_at, tz) if dmethod == "1" else None,
    }


EVENTS = {
    "created": "order.new",
    "countdown_started": "order.countdown_started",
    "timed_out": "order.timeout",
    "confirmed": "order.confirmed",
    "closed": "order.closed",
}


def render_event(kind: str, view: OrderView, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """Webhook payloads for a core order event (registered with the outbox at import)."""
    events: list[tuple[str, dict[str, Any]]] = []
    if kind == "created":
        events.append(("order.new", {"event": "order.new", "order": render_order(view)}))
        if view.order.countdown_ends_at is not None and view.order.confirmed_at is None:
            events.append(("order.countdown_started", {
                "event": "order.countdown_started",
                "order": {"uid": view.order.uid, "token": view.order.token,
                          "confirmation": confirmation(view)}}))
        elif view.order.confirmed_at is not None:
            events.append(("order.confirmed", {"event": "order.confirmed",
                                               "order": render_order(view)}))
        return events
    name = EVENTS.get(kind)
    if name is not None:
        events.append((name, {"event": name, "order": render_order(view)}))
    return events
