"""The restaurant dialect's exact JSON shapes, in and out.

Money is integer minor units inside and a JSON number in major units here (``17.5`` is
EUR 17.50), converted exactly with the currency's precision. Times go out as local
``YYYY-MM-DD HH:MM:SS`` in ``date`` and as UTC RFC 3339 in ``date_iso``; the create answer's
times are UTC RFC 3339, as the seed's order-create page shows them. Answers are the models of
:mod:`.responses`, which the routes send as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from babel.core import UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import get_currency_precision
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from orderdesk.core.catalog.importer import (
    CategoryInput,
    OptionInput,
    OptionValueInput,
    ProductInput,
)
from orderdesk.core.catalog.menu import MenuCategory, MenuProduct
from orderdesk.core.catalog.models import OptionValue
from orderdesk.core.catalog.options import OptionWithValues
from orderdesk.core.fulfilment.models import Place
from orderdesk.core.fulfilment.service import ResolvedAddress
from orderdesk.core.orders.models import Order, OrderLine
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.clients import SCOPES
from orderdesk.core.organizations.models import Location
from orderdesk.core.pricing.coupons import AppliedCoupon
from orderdesk.core.pricing.models import Coupon
from orderdesk.dialects.restaurant import responses as out
from orderdesk.dialects.restaurant.methods import DELIVERY

Uid = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(max_length=1000)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Language = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z]{2}$")]


# What the datetime parser takes: RFC 3339 / ISO 8601 with ``T``, ``t`` or a space between date
# and time, seconds and fraction optional; without an offset it is the location's local time.
WHEN_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?$"
)
_WHEN = re.compile(WHEN_PATTERN)


def _documented_when(value: object) -> object:
    """Only a string of the documented forms reaches the datetime parser, which alone would
    also take an underscore between date and time or Unix seconds."""
    if not isinstance(value, str) or not _WHEN.match(value):
        raise ValueError("must be RFC 3339 or the local YYYY-MM-DD HH:MM:SS")
    return value


When = Annotated[
    dt.datetime,
    Strict(False),  # the string has been checked; strict mode takes no string past a validator
    BeforeValidator(_documented_when),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WHEN_PATTERN,
            "description": (
                "RFC 3339 (`2026-12-01T12:30:00Z`, `2026-12-01T13:30:00+01:00`) or the "
                "location's local time without an offset, as `order/pickup_delivery_times` "
                "answers it (`2026-12-01 13:30:00`); `T` or a space between date and time, "
                "seconds optional."
            ),
            "examples": ["2026-12-01 13:30:00", "2026-12-01T12:30:00Z"],
        }
    ),
]
DMethodIn = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=out.DMETHOD_PATTERN),
    Field(description=out.DMETHOD_DESCRIPTION),
]


class Wire(BaseModel):
    model_config = ConfigDict(
        extra="ignore", strict=True, model_title_generator=out.restaurant_title
    )


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
    date: When


class PlaceRefIn(Wire):
    place_id: Uid
    doorbell: Annotated[str, StringConstraints(max_length=100)] = ""
    floor: Annotated[str, StringConstraints(max_length=50)] = ""


class DeliveryIn(Wire):
    date: When
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
    dmethod: DMethodIn
    payment_method: Annotated[
        out.PaymentMethod,
        Field(description="`cash`, `invoice` or `external` (handled outside the restaurant)"),
    ]
    details: Annotated[list[DetailIn], Field(min_length=1, max_length=100)]
    subrestaurant_uid: Annotated[
        Uid | None,
        Field(description="The location; required when the restaurant has several"),
    ] = None
    language: Language | None = None
    pickup: Annotated[WhenIn | None, Field(description="Required for dmethod `0`")] = None
    delivery: Annotated[DeliveryIn | None, Field(description="Required for dmethod `1`")] = None
    payment_method_sub: Annotated[
        Annotated[str, StringConstraints(max_length=50)] | None,
        Field(
            description="Required when `payment_method` is `cash`: one of the "
            "`payment_method_subs` that `GET /api/account/subrestaurants` lists"
        ),
    ] = None
    coupon: CouponIn | None = None
    notes: Note = ""
    creator: Literal["customer", "restaurant"] = "customer"


class TokenRequestIn(Wire):
    """The form of ``POST /api/oauth/token`` (RFC 6749 section 4.4.2); documentation only, the
    route reads the form itself to answer in RFC 6749's error shape."""

    grant_type: Literal["client_credentials"]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    scope: Annotated[
        str | None,
        Field(
            description="Space-separated scopes, at most the client's own (default: all of "
            "them): " + ", ".join(f"`{s}`" for s in SCOPES)
        ),
    ] = None


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
    dmethod: DMethodIn
    subrestaurant_uid: Annotated[
        Uid | None,
        Field(description="The location; required when the restaurant has several"),
    ] = None
    place_id: Annotated[
        Uid | None,
        Field(description="From `order/validate_address`; required for dmethod `1`"),
    ] = None
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
# Responses: each render function returns the model of :mod:`.responses` that is sent.


@lru_cache(maxsize=64)
def _scale(currency: str) -> int:
    return int(10 ** get_currency_precision(currency))


def money(minor: int, currency: str) -> float | int:
    """Exact major units: ``1750`` EUR -> ``17.5``; zero-decimal currencies stay integers.

    Integer true division is correctly rounded, so ``minor / 100`` is the float nearest the
    exact amount, the same one a decimal conversion gives, at a fraction of its cost.
    """
    scale = _scale(currency)
    return minor if scale == 1 else minor / scale


def local_text(value: dt.datetime | None, timezone: str) -> str | None:
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(timezone))
    return local.replace(tzinfo=None, microsecond=0).isoformat(" ")


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


def _confirmation(view: OrderView) -> dict[str, Any]:
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


def confirmation(view: OrderView) -> out.ConfirmationState:
    return out.ConfirmationState.model_validate(_confirmation(view))


def _details(lines: Iterable[OrderLine], cur: str) -> list[dict[str, Any]]:
    return [
        {
            "product": {
                "uid": line.snapshot.get("uid"),
                "name": line.name,
                "price": money(line.unit_price, cur),
                "category": line.snapshot.get("category"),
                "category_uid": line.snapshot.get("category_uid"),
                "ext_id": line.snapshot.get("ext_id"),
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
        for line in lines
    ]


def _coupon(order: Order) -> dict[str, Any] | None:
    if not order.coupon_code:
        return None
    return {"code": order.coupon_code, "discount": money(order.discount, order.currency)}


def render_order(view: OrderView) -> out.Order:
    """The order as list, get, confirm, close and the webhooks send it; validated once as a
    whole tree (one call into pydantic-core instead of one per nested model)."""
    order = view.order
    tz = view.location.timezone
    cur = order.currency
    fulfilment = order.fulfilment
    dmethod = str(fulfilment.get("dmethod", ""))
    customer = order.customer
    delivering = dmethod == DELIVERY
    return out.Order.model_validate(
        {
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
            "details": _details(order.lines, cur),
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
            "pickup": None if delivering else _when(order.scheduled_at, tz),
            "delivery": (
                {**(_when(order.scheduled_at, tz) or {}), "address": order.address}
                if delivering
                else None
            ),
            "coupon": _coupon(order),
            "confirmation": _confirmation(view),
        }
    )


def render_created(view: OrderView) -> out.Created:
    """The create answer; its times are UTC RFC 3339, as on the seed's order-create page."""
    order = view.order
    delivering = order.fulfilment.get("dmethod") == DELIVERY
    scheduled = iso(order.scheduled_at)
    return out.Created.model_validate(
        {
            "uid": order.uid,
            "token": order.token,
            "order_number": str(order.number),
            "total": money(order.total, order.currency),
            "date": iso(order.created_at),
            "confirmed": order.confirmed_at is not None,
            "delivery_fee": money(order.delivery_fee, order.currency),
            "pickup_date": None if delivering else scheduled,
            "delivery_date": scheduled if delivering else None,
        }
    )


def render_quote(order: Order, location: Location) -> out.QuotedOrder:
    cur = order.currency
    dmethod = str(order.fulfilment.get("dmethod", ""))
    delivering = dmethod == DELIVERY
    scheduled = iso(order.scheduled_at)
    return out.QuotedOrder.model_validate(
        {
            "details": _details(order.lines, cur),
            "subtotal": money(order.subtotal, cur),
            "delivery_fee": money(order.delivery_fee, cur),
            "discount": money(order.discount, cur),
            "total": money(order.total, cur),
            "currency": cur,
            "dmethod": dmethod,
            "subrestaurant_uid": location.key,
            "pickup_date": None if delivering else scheduled,
            "delivery_date": scheduled if delivering else None,
            "coupon": _coupon(order),
        }
    )


# What the core's order events after creation become for subscribers.
EVENTS: dict[str, out.OrderEventName] = {
    "timed_out": "order.timeout",
    "confirmed": "order.confirmed",
    "closed": "order.closed",
}


def _payload(event: out.OrderEvent | out.CountdownEvent) -> dict[str, Any]:
    # The event id exists only once the outbox row does; the dispatcher adds it when sending.
    return event.model_dump(mode="json", exclude={"event_id"})


def render_event(kind: str, view: OrderView, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """Webhook payloads for a core order event (registered with the outbox at import)."""
    events: list[tuple[str, dict[str, Any]]] = []
    if kind == "created":
        events.append(
            ("order.new", _payload(out.OrderEvent(event="order.new", order=render_order(view))))
        )
        if view.order.countdown_ends_at is not None and view.order.confirmed_at is None:
            countdown = out.CountdownEvent(
                event="order.countdown_started",
                order=out.CountdownOrder(
                    uid=view.order.uid, token=view.order.token, confirmation=confirmation(view)
                ),
            )
            events.append(("order.countdown_started", _payload(countdown)))
        elif view.order.confirmed_at is not None:
            confirmed = out.OrderEvent(event="order.confirmed", order=render_order(view))
            events.append(("order.confirmed", _payload(confirmed)))
        return events
    name = EVENTS.get(kind)
    if name is not None:
        events.append((name, _payload(out.OrderEvent(event=name, order=render_order(view)))))
    return events


# --------------------------------------------------------------------------------------------
# Menu, locations, coupons


def _value(value: OptionValue, currency: str) -> dict[str, Any]:
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


def _option(entry: OptionWithValues, currency: str) -> dict[str, Any]:
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
        "option_values": [_value(v, currency) for v in entry.values],
    }


def render_category(item: MenuCategory, currency: str) -> out.Category:
    category = item.category
    return out.Category.model_validate(
        {
            "uid": category.uid,
            "name": category.name,
            "description": category.description,
            "image": category.image,
            "products_count": item.products_count,
            "hidden": category.hidden,
            "position": category.position,
            "subrestaurant_uids": list(category.location_keys),
            "ext_id": category.ext_id,
            "options": [_option(o, currency) for o in item.options],
        }
    )


def render_product(item: MenuProduct) -> out.Product:
    product = item.product
    return out.Product.model_validate(
        {
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
            "options": [_option(o, product.currency) for o in item.options],
        }
    )


def render_subrestaurant(location: Location, payment_method_subs: list[str]) -> out.Subrestaurant:
    s = location.settings
    return out.Subrestaurant(
        uid=location.key,
        name=location.title,
        code=s.get("code"),
        address=s.get("address"),
        city=s.get("city"),
        province=s.get("province"),
        zip=s.get("zip"),
        country=s.get("country"),
        phone=s.get("phone"),
        email=s.get("email"),
        payment_method_subs=payment_method_subs,
    )


def render_coupon(coupon: Coupon, currency: str) -> out.Coupon:
    return out.Coupon(
        code=coupon.code,
        discount_perc=coupon.discount_perc,
        quantity=coupon.quantity,
        order_min=money(coupon.order_min, currency),
        valid_from=coupon.valid_from.isoformat() if coupon.valid_from else None,
        valid_to=coupon.valid_to.isoformat() if coupon.valid_to else None,
        valid_weekdays=list(coupon.valid_weekdays),
        valid_email=coupon.valid_email,
    )


def render_place(place: Place) -> out.Place:
    return out.Place(
        place_id=place.place_id,
        street=place.street,
        number=place.number,
        city=place.city,
        province=place.province,
        zip=place.zip,
        country=place.country,
        lat=place.lat,
        lng=place.lng,
    )


def render_validated(resolved: ResolvedAddress, currency: str) -> out.AddressValidated:
    return out.AddressValidated(
        success=True,
        data=out.ValidatedAddress(
            address=render_place(resolved.place),
            subrestaurant_uid=resolved.location_key,
            kms=resolved.kms,
            delivery_fee=money(resolved.fee, currency),
        ),
    )


_FORMAT = "EEEE d MMMM, HH:mm"


def _formatted(value: dt.datetime, language: str) -> str:
    try:
        return format_datetime(value, _FORMAT, tzinfo=value.tzinfo, locale=language)
    except (ValueError, LookupError, UnknownLocaleError):  # unknown to babel: English
        return format_datetime(value, _FORMAT, tzinfo=value.tzinfo, locale="en")


def render_times(
    free: list[dt.datetime], timezone: str, language: str, *, delivered: bool
) -> out.TimesListed:
    listed = [
        out.FreeTime(date=local_text(t, timezone) or "", formatted=_formatted(t, language))
        for t in free
    ]
    return out.TimesListed(
        success=True,
        data=out.FreeTimes(
            pickup_times=[] if delivered else listed,
            delivery_times=listed if delivered else [],
        ),
    )


def render_applied(applied: AppliedCoupon, currency: str) -> out.CouponApplied:
    return out.CouponApplied(
        success=True,
        coupon=render_coupon(applied.coupon, currency),
        order=out.CouponTotals(
            discount=money(applied.discount, currency), total=money(applied.total, currency)
        ),
    )


def minor_units(amount: float, currency: str) -> int:
    """A major-unit amount from the wire (``17.5``) as exact minor units (``1750``)."""
    return int((Decimal(str(amount)).scaleb(get_currency_precision(currency))).to_integral_value())


# The core importer's names for the menu import's fields this wire names otherwise; error paths
# are renamed back with it.
IMPORT_NAMES = {
    "values": "option_values",
    "location_keys": "subrestaurant_uids",
    "category": "category_ext_id",
}


def menu_inputs(
    categories: Iterable[ImportCategoryIn], products: Iterable[ImportProductIn], currency: str
) -> tuple[list[CategoryInput], list[ProductInput]]:
    """A menu import (``POST /menu/import``, or ``orderdesk import menu``) as the core's importer
    takes it: prices from this wire's major units to minor units."""

    def option(o: ImportOptionIn) -> OptionInput:
        return OptionInput(
            ext_id=o.ext_id,
            name=o.name,
            short_name=o.short_name,
            type=o.type,
            min_selectable=o.min_selectable,
            max_selectable=o.max_selectable,
            max_quantity=o.max_quantity,
            hidden=o.hidden,
            position=o.position,
            values=[
                OptionValueInput(
                    ext_id=v.ext_id,
                    name=v.name,
                    short_name=v.short_name,
                    price_operator=v.price_operator,
                    price_operand=minor_units(v.price_operand, currency),
                    hidden=v.hidden,
                    position=v.position,
                    checked_default=v.checked_default,
                )
                for v in o.option_values
            ],
        )

    return [
        CategoryInput(
            ext_id=c.ext_id,
            name=c.name,
            description=c.description,
            image=c.image,
            hidden=c.hidden,
            position=c.position,
            location_keys=c.subrestaurant_uids,
            options=[option(o) for o in c.options],
        )
        for c in categories
    ], [
        ProductInput(
            ext_id=p.ext_id,
            category=p.category_ext_id,
            name=p.name,
            description=p.ingredients,
            price=minor_units(p.price, currency),
            hidden=p.hidden,
            available=p.available,
            position=p.position,
            image=p.image,
            location_keys=p.subrestaurant_uids,
            options=[option(o) for o in p.options],
        )
        for p in products
    ]
