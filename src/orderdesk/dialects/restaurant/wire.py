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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from orderdesk.core.catalog.menu import MenuCategory, MenuProduct
from orderdesk.core.catalog.models import OptionValue
from orderdesk.core.catalog.options import OptionWithValues
from orderdesk.core.fulfilment.models import Place
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.models import Location
from orderdesk.core.pricing.models import Coupon

Uid = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(max_length=1000)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client": {
                        "first_name": "Giulia",
                        "last_name": "Rossi",
                        "email": "giulia@example.com",
                        "phone": "+39 02 1234567",
                    },
                    "dmethod": "1",
                    "payment_method": "cash",
                    "payment_method_sub": "pos",
                    "subrestaurant_uid": "bella-centro",
                    "language": "it",
                    "delivery": {
                        "date": "2026-12-01T19:30:00+01:00",
                        "address": {
                            "place_id": "via-roma-1-milano",
                            "doorbell": "Rossi",
                            "floor": "3",
                        },
                    },
                    "details": [
                        {
                            "product": {"uid": "margherita"},
                            "quantity": 2,
                            "notes": "well done",
                            "options": [
                                {
                                    "uid": "margherita-formato",
                                    "values": [{"uid": "maxi", "quantity": 1}],
                                }
                            ],
                        }
                    ],
                    "coupon": {"code": "WELCOME10"},
                    "notes": "",
                    "creator": "customer",
                }
            ]
        }
    )

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


ExtId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Money = Annotated[float, Field(ge=0, le=1_000_000)]
Position = Annotated[int, Field(ge=0, le=1_000_000)]


class ImportValueIn(Wire):
    ext_id: ExtId
    name: Text
    short_name: Annotated[str, StringConstraints(max_length=100)] = ""
    price_operator: Literal["+", "-", "="] = "+"
    price_operand: Money = 0
    hidden: bool = False
    position: Position | None = None
    checked_default: bool = False


class ImportOptionIn(Wire):
    ext_id: ExtId
    name: Text
    short_name: Annotated[str, StringConstraints(max_length=100)] = ""
    type: Literal["single", "multiple"] = "multiple"
    min_selectable: Annotated[int, Field(ge=0, le=100)] = 0
    max_selectable: Annotated[int, Field(ge=0, le=100)] = 1
    max_quantity: Annotated[int, Field(ge=1, le=99)] = 1
    hidden: bool = False
    position: Position | None = None
    option_values: Annotated[list[ImportValueIn], Field(max_length=200)] = []

    @field_validator("max_selectable")
    @classmethod
    def _selectable_range(cls, value: int, info: ValidationInfo) -> int:
        """The setup document's rules; the importer leaves them to the edge."""
        if info.data.get("type") == "single" and value != 1:
            raise ValueError("must be 1 for a single option")
        minimum = info.data.get("min_selectable")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least min_selectable ({minimum})")
        return value


class ImportCategoryIn(Wire):
    ext_id: ExtId
    name: Text
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    image: Annotated[str, StringConstraints(max_length=1000)] | None = None
    hidden: bool = False
    position: Position | None = None
    subrestaurant_uids: Annotated[list[Uid], Field(max_length=100)] = []
    options: Annotated[list[ImportOptionIn], Field(max_length=100)] = []


class ImportProductIn(Wire):
    ext_id: ExtId
    category_ext_id: ExtId | None = None
    name: Text
    ingredients: Annotated[str, StringConstraints(max_length=2000)] = ""
    price: Money
    hidden: bool = False
    available: bool = True
    position: Position | None = None
    image: Annotated[str, StringConstraints(max_length=1000)] | None = None
    subrestaurant_uids: Annotated[list[Uid], Field(max_length=100)] = []
    options: Annotated[list[ImportOptionIn], Field(max_length=100)] = []


class MenuImportIn(Wire):
    """Body of ``POST /api/menu/import``: a POS menu keyed by ``ext_id``."""

    pos_uid: Annotated[str, StringConstraints(max_length=100)] | None = None
    update_mode: Literal["replace", "update"]
    categories: Annotated[list[ImportCategoryIn], Field(max_length=2000)] = []
    products: Annotated[list[ImportProductIn], Field(max_length=20000)] = []


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
        details.append(
            {
                "product": {
                    "uid": snap.get("uid"),
                    "name": line.name,
                    "price": money(line.unit_price, cur),
                    "category": snap.get("category"),
                    "category_uid": snap.get("category_uid"),
                    "ext_id": snap.get("ext_id"),
                },
                "options": [
                    {
                        "uid": o["uid"],
                        "name": o["name"],
                        "type": o["type"],
                        "values": [
                            {
                                "uid": v["uid"],
                                "name": v["name"],
                                "price_operator": v["price_operator"],
                                "price_operand": money(v["price_operand"], cur),
                                "quantity": v["quantity"],
                                "ext_id": v.get("ext_id"),
                            }
                            for v in o["values"]
                        ],
                    }
                    for o in line.options
                ],
                "price": money(line.unit_price, cur),
                "price_options": money(line.options_price, cur),
                "quantity": line.quantity,
                "total": money(line.total, cur),
                "notes": line.notes,
            }
        )
    customer = order.customer
    return {
        "uid": order.uid,
        "token": order.token,
        "date": local_text(order.created_at, tz),
        "date_iso": iso(order.created_at),
        "number": order.number,
        "order_number": str(order.number),
        "client": {
            "uid": client_uid(view.organization_key, customer),
            "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"),
            "phone": customer.get("phone"),
            "email": customer.get("email"),
        },
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
            if dmethod == "1"
            else None
        ),
        "coupon": (
            {"code": order.coupon_code, "discount": money(order.discount, cur)}
            if order.coupon_code
            else None
        ),
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
            events.append(
                (
                    "order.countdown_started",
                    {
                        "event": "order.countdown_started",
                        "order": {
                            "uid": view.order.uid,
                            "token": view.order.token,
                            "confirmation": confirmation(view),
                        },
                    },
                )
            )
        elif view.order.confirmed_at is not None:
            events.append(
                ("order.confirmed", {"event": "order.confirmed", "order": render_order(view)})
            )
        return events
    name = EVENTS.get(kind)
    if name is not None:
        events.append((name, {"event": name, "order": render_order(view)}))
    return events


# --------------------------------------------------------------------------------------------
# Menu, locations, coupons


def render_value(value: OptionValue, currency: str) -> dict[str, Any]:
    return {
        "uid": value.uid,
        "name": value.name,
        "short_name": value.short_name,
        "price_operator": value.price_operator,
        "price_operand": money(value.price_operand, currency),
        "hidden": value.hidden,
        "position": value.position,
        "checked_default": value.checked_default,
        "ext_id": value.ext_id,
    }


def render_option(entry: OptionWithValues, currency: str) -> dict[str, Any]:
    option = entry.option
    return {
        "uid": option.uid,
        "name": option.name,
        "short_name": option.short_name,
        "type": option.type,
        "min_selectable": option.min_selectable,
        "max_selectable": option.max_selectable,
        "max_quantity": option.max_quantity,
        "hidden": option.hidden,
        "position": option.position,
        "ext_id": option.ext_id,
        "option_values": [render_value(v, currency) for v in entry.values],
    }


def render_category(item: MenuCategory, currency: str) -> dict[str, Any]:
    category = item.category
    return {
        "uid": category.uid,
        "name": category.name,
        "description": category.description,
        "image": category.image,
        "products_count": item.products_count,
        "hidden": category.hidden,
        "position": category.position,
        "subrestaurant_uids": list(category.location_keys),
        "ext_id": category.ext_id,
        "options": [render_option(o, currency) for o in item.options],
    }


def render_product(item: MenuProduct) -> dict[str, Any]:
    product = item.product
    return {
        "uid": product.uid,
        "category_uid": item.category_uid,
        "name": product.name,
        "ingredients": product.description,
        "price": money(product.price, product.currency),
        "image": product.image,
        "hidden": product.hidden,
        "position": product.position,
        "subrestaurant_uids": list(product.location_keys),
        "ext_id": product.ext_id,
        "options": [render_option(o, product.currency) for o in item.options],
    }


def render_subrestaurant(location: Location) -> dict[str, Any]:
    s = location.settings
    return {
        "uid": location.key,
        "name": location.title,
        "code": s.get("code"),
        "address": s.get("address"),
        "city": s.get("city"),
        "province": s.get("province"),
        "zip": s.get("zip"),
        "country": s.get("country"),
        "phone": s.get("phone"),
        "email": s.get("email"),
    }


def render_coupon(coupon: Coupon, currency: str) -> dict[str, Any]:
    return {
        "code": coupon.code,
        "discount_perc": coupon.discount_perc,
        "quantity": coupon.quantity,
        "order_min": money(coupon.order_min, currency),
        "valid_from": coupon.valid_from.isoformat() if coupon.valid_from else None,
        "valid_to": coupon.valid_to.isoformat() if coupon.valid_to else None,
        "valid_weekdays": list(coupon.valid_weekdays),
        "valid_email": coupon.valid_email,
    }


def render_place(place: Place) -> dict[str, Any]:
    return {
        "place_id": place.place_id,
        "street": place.street,
        "number": place.number,
        "city": place.city,
        "province": place.province,
        "zip": place.zip,
        "country": place.country,
        "lat": place.lat,
        "lng": place.lng,
    }


def minor_units(amount: float, currency: str) -> int:
    """A major-unit amount from the wire (``17.5``) as exact minor units (``1750``)."""
    return int((Decimal(str(amount)).scaleb(get_currency_precision(currency))).to_integral_value())
