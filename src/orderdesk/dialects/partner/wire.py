"""The partner dialect's exact JSON shapes, in and out, as one set of pydantic models.

Requests are validated by the ``*In`` models (unknown keys ignored, types strict: ``"3"`` is not
an integer). Every answer is an instance of one of the response models, built by the ``render_*``
functions and sent as that model's JSON; the OpenAPI document is generated from the very same
classes (``responses.py`` only says which of them answers which operation), so what the
document promises is what the server sends. Response models forbid keys they do not list and
require every key they do (``null`` where there is nothing), and they are validated when built:
a renderer that drifted from its documentation fails at once instead of sending something the
document does not describe. Renderers build the wire dict and validate it in one call, which
measured about a third faster than constructing the nested models one by one from Python.

Component names and titles carry the dialect's prefix (``PartnerOrder``): the restaurant
dialect has models of the same names, and client generators name their classes by title.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from orderdesk.core.catalog.models import Product
from orderdesk.core.errors import ErrorType
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.models import Location

if TYPE_CHECKING:
    from orderdesk.core.orders.service import Quote as CoreQuote


def _title(model: type[Any]) -> str:
    return f"Partner{model.__name__}"


# Named members in generated clients (MORNING rather than VALUE_0).
Timeslot = Annotated[
    Literal["0712", "1217", "1721"],
    Field(json_schema_extra={"x-enum-varnames": ["MORNING", "MIDDAY", "EVENING"]}),
]
PaymentMethod = Literal["stripe", "cash"]
DeliveryType = Literal["to_pavement", "to_door_by_lift", "to_door_by_stairs"]
PAYMENT_METHODS: tuple[PaymentMethod, ...] = ("stripe", "cash")
DELIVERY_TYPES: tuple[DeliveryType, ...] = ("to_pavement", "to_door_by_lift", "to_door_by_stairs")
# The lifecycle (core.orders.lifecycle) as far as a partner order can go: the restaurant
# dialect's confirmation substatuses never apply. tests/dialects/partner checks both lists
# against the lifecycle table.
Status = Literal["open", "in_work", "completed", "done", "cancelled"]
Substatus = Literal[
    "open",
    "awaiting_master_request",
    "awaiting_master_accept",
    "not_in_stock",
    "in_stock_awaiting_date",
    "in_work",
    "completed",
    "awaiting_payment",
    "payment_hold",
    "payment_captured",
    "payment_error",
    "payment_requires_action",
    "awaiting_fee",
    "fee_hold",
    "fee_captured",
    "fee_error",
    "fee_requires_action",
    "done",
    "cancelled",
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


# --------------------------------------------------------------------------------------------
# Requests


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, model_title_generator=_title)


class LoginIn(Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"login": "api@nordhaus.example", "password": "nordhaus-demo-password"}]
        }
    )

    login: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class CustomerIn(Wire):
    phone_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ] = Field(description="Mobile phone number, international or national format")
    first_name: Text
    last_name: Text


class CoordinatesIn(Wire):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class AddressIn(Wire):
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    coordinates: CoordinatesIn
    details: Annotated[str, StringConstraints(max_length=1000)]
    zip: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class ItemIn(Wire):
    id: int = Field(description="Item id, from the item list or search")
    count: Annotated[int, Field(ge=1, le=999)]
    delivery: bool = Field(False, description="Deliver this item (only where the item offers it)")
    assembly: bool = Field(False, description="Assemble this item (only where the item offers it)")


class OrderDetailsIn(Wire):
    store_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="One of the caller's stores (store list)"
    )
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=200)]
    instock: bool = Field(description="All items are in stock: a master is booked at once")
    delivery_type: DeliveryType = "to_pavement"


class DateTimeIn(Wire):
    date: dt.date
    timeslot: Timeslot = Field(description="0712, 1217 or 1721: hours in the store's local time")


class CreateOrderIn(Wire):
    """Body of ``POST /order/create`` as on the original create-order page."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer": {
                        "phone_number": "+37120000000",
                        "first_name": "Anna",
                        "last_name": "Ozola",
                    },
                    "address": {
                        "address": "Brivibas iela 1, Riga",
                        "coordinates": {"lat": 56.95, "lon": 24.11},
                        "details": "3rd floor, door code 1234",
                        "zip": "LV-1010",
                    },
                    "partner_details": {
                        "store_id": "nordhaus-riga",
                        "items": [{"id": 1001, "count": 1, "delivery": True, "assembly": True}],
                        "instock": True,
                        "delivery_type": "to_door_by_lift",
                    },
                    "datetime": [
                        {"date": "2026-12-01", "timeslot": "1217"},
                        {"date": "2026-12-02", "timeslot": "0712"},
                    ],
                    "payment_method": "stripe",
                    "image_uuids": ["5f1d7c2a9b3e4d6f8a0b1c2d"],
                }
            ]
        }
    )

    customer: CustomerIn
    address: AddressIn | None = None
    partner_details: OrderDetailsIn
    datetime: Annotated[list[DateTimeIn], Field(min_length=1, max_length=93)] = Field(
        description="The customer's preferred dates and timeslots, most wanted first"
    )
    payment_method: PaymentMethod
    image_uuids: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=20)
    ] = Field(description="Ids of uploaded receipt images (image upload)")


class ChangeDatesIn(Wire):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"datetime": [{"date": "2026-12-03", "timeslot": "1721"}]}]}
    )

    datetime: Annotated[list[DateTimeIn], Field(min_length=1, max_length=93)]


class OrderFilterIn(Wire):
    query: Annotated[str, StringConstraints(max_length=200)] | None = None
    store_ids: Annotated[list[str], Field(max_length=100)] = []
    filter: Annotated[list[str], Field(max_length=30)] = []


# --------------------------------------------------------------------------------------------
# Responses: payloads

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Date = Annotated[str, Field(pattern=DATE_PATTERN, json_schema_extra={"format": "date"})]
# ``iso_millis``: UTC with milliseconds, ``2026-12-01T09:30:00.000Z``.
Timestamp = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$",
        json_schema_extra={"format": "date-time"},
    ),
]
Money = Annotated[int, Field(description="Minor units of the currency (cents)")]


class Shape(BaseModel):
    """A response body, or one whole payload of one."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        json_schema_serialization_defaults_required=True,
        model_title_generator=_title,
    )


# The parts of a payload (an order's customer, its items) are TypedDicts with the same rules:
# validated, documented and serialized like models, but a dict costs a fraction of a model
# instance to validate, and an order has a dozen parts on every answer and every webhook.
PART = ConfigDict(extra="forbid", strict=True, model_title_generator=_title)


@with_config(PART)
class User(TypedDict):
    login: str
    partner: str
    partner_title: str


class Login(Shape):
    token: str = Field(description="Send it in the `token` header of every other call")
    user: User


class Revoked(Shape):
    revoked: Literal[True]


class FreeSlots(Shape):
    """Whether each timeslot of one day has a master left."""

    morning: bool = Field(alias="0712")
    midday: bool = Field(alias="1217")
    evening: bool = Field(alias="1721")


class Item(Shape):
    id: int
    title: str
    category: str
    delivery: bool = Field(description="Delivery can be ordered for this item")
    assembly: bool = Field(description="Assembly can be ordered for this item")
    delivery_price: Money
    assembly_price: Money
    currency: str


class Store(Shape):
    store_id: str
    store_title: str
    timezone: str = Field(description="IANA time zone; timeslots are in its local time")


class UploadedImage(Shape):
    id: str = Field(description="Goes into an order's `image_uuids`")
    url: str
    mimetype: str


@with_config(PART)
class CreatedDetails(TypedDict):
    instock: bool
    store_id: str
    store_title: str


@with_config(PART)
class OrderDetails(TypedDict):
    instock: bool
    store_id: str
    store_title: str
    delivery_type: DeliveryType


class Created(Shape):
    """The order as ``POST /order/create`` answers it."""

    id: int = Field(alias="_id")
    title: str
    status: Status = Field(alias="_status")
    substatus: Substatus = Field(alias="_substatus")
    partner: str
    partner_details: CreatedDetails
    created_at: Timestamp


@with_config(PART)
class DateTime(TypedDict):
    date: Date
    timeslot: Timeslot


@with_config(PART)
class Customer(TypedDict):
    phone_number: str
    first_name: str
    last_name: str


@with_config(PART)
class Coordinates(TypedDict):
    lat: float
    lon: float


@with_config(PART)
class Address(TypedDict):
    address: str
    coordinates: Coordinates
    details: str
    zip: str


@with_config(PART)
class OrderItem(TypedDict):
    id: int
    count: int
    delivery: bool
    assembly: bool


class Order(Shape):
    """One order as the list, get and change endpoints and the webhooks send it."""

    id: int = Field(alias="_id")
    title: str
    status: Status = Field(alias="_status")
    substatus: Substatus = Field(alias="_substatus")
    partner: str
    partner_details: OrderDetails
    created_at: Timestamp
    datetime: list[DateTime] = Field(description="The preferred dates, most wanted first")
    booked: DateTime | None = Field(description="The booked master slot; null while none is")
    customer: Customer
    address: Address | None
    items: list[OrderItem]
    payment_method: PaymentMethod
    image_uuids: list[str]
    updated_at: Timestamp


@with_config(PART)
class QuoteItem(TypedDict):
    id: int
    title: str
    count: int
    delivery: bool
    assembly: bool
    delivery_price: Annotated[
        Money, Field(description="Delivery of one unit; 0 when not asked for")
    ]
    assembly_price: Annotated[
        Money, Field(description="Assembly of one unit; 0 when not asked for")
    ]
    total: Annotated[Money, Field(description="count x (delivery_price + assembly_price)")]


class Quote(Shape):
    """What ``POST /order/create`` would make of the same body now, priced; nothing stored."""

    title: str
    status: Status = Field(alias="_status")
    substatus: Substatus = Field(alias="_substatus")
    store: Store
    instock: bool
    delivery_type: DeliveryType
    payment_method: PaymentMethod
    booked: DateTime | None = Field(
        description="The slot a create would book now (the first preferred one with a master "
        "free); null when the items are not in stock, since nothing would be booked"
    )
    items: list[QuoteItem]
    subtotal: Money
    delivery_fee: Money
    discount: Money
    total: Money
    currency: str


class Event(Shape):
    """A webhook: an order was created or its status changed. Signed in
    ``X-Orderdesk-Signature`` (``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``)."""

    id: str = Field(
        "",
        description="The event's id, as in `X-Orderdesk-Event`: the same on every retry of the "
        "event; de-duplicate on it. Set when the event is sent.",
    )
    event: Literal["order.created", "order.status_changed"]
    created_at: Timestamp
    data: Order


# --------------------------------------------------------------------------------------------
# Responses: envelopes


class Envelope(Shape):
    status: Literal["ok"] = "ok"
    status_code: Literal[200] = Field(200, alias="statusCode")


class LoginOk(Envelope):
    """A token for the ``token`` header of every other call."""

    data: Login


class RevokedOk(Envelope):
    """The token of this request no longer works."""

    data: Revoked


class FreeSlotsOk(Envelope):
    """Free master slots by local date, for the booking window."""

    data: dict[str, FreeSlots] = Field(
        description="Keyed by date (`YYYY-MM-DD`, the store's local date), today and the next "
        "30 days"
    )


class ItemsOk(Envelope):
    """Items, in the order asked for."""

    data: list[Item]


class StoresOk(Envelope):
    """The caller's stores."""

    data: list[Store]


class UploadedOk(Envelope):
    """The stored image; its ``id`` goes into an order's ``image_uuids``."""

    data: list[UploadedImage]


class CreatedOk(Envelope):
    """The new order (or, for a repeated ``Idempotency-Key``, the first answer again)."""

    data: Created


class OrdersOk(Envelope):
    """Orders, newest first."""

    data: list[Order]


class OrderOk(Envelope):
    """The order as it is now."""

    data: Order


class QuoteOk(Envelope):
    """The priced order a create would make now; nothing was stored or booked."""

    data: Quote


# --------------------------------------------------------------------------------------------
# Responses: errors (sent by errors.py; tests/dialects/partner checks each against its model)


class Error(Shape):
    """An error; the HTTP status equals ``code`` and ``statusCode``."""

    name: str
    message: str
    code: int
    type: str
    status_code: int = Field(alias="statusCode")
    status: Literal["error"]
    data: None


class Unauthorized(Error):
    """Missing, unknown, expired or revoked ``token``, or a wrong login or password."""

    name: Literal["UnAuthorizedError"]
    code: Literal[401]
    type: Literal["NO_RIGHTS"]
    status_code: Literal[401] = Field(alias="statusCode")


class NotFound(Error):
    """No such thing, or one of another partner."""

    name: Literal["NotFoundError"]
    code: Literal[404]
    type: Literal["NOT_FOUND"]
    status_code: Literal[404] = Field(alias="statusCode")


class Conflict(Error):
    """Not possible in the order's current state, or the same Idempotency-Key is in progress."""

    name: Literal["ConflictError"]
    code: Literal[409]
    type: Literal["CONFLICT"]
    status_code: Literal[409] = Field(alias="statusCode")


class RequestTimeout(Error):
    """The request body did not arrive within the server's time limit; the connection is closed.
    Nothing was done; send the request again."""

    name: Literal["RequestTimeoutError"]
    code: Literal[408]
    type: Literal["REQUEST_TIMEOUT"]
    status_code: Literal[408] = Field(alias="statusCode")


class PayloadTooLarge(Error):
    """The request body is larger than this endpoint accepts."""

    name: Literal["PayloadTooLargeError"]
    code: Literal[413]
    type: Literal["PAYLOAD_TOO_LARGE"]
    status_code: Literal[413] = Field(alias="statusCode")


class TooManyRequests(Error):
    """Throttled; the ``Retry-After`` header says when to try again."""

    name: Literal["TooManyRequestsError"]
    code: Literal[429]
    type: Literal["RATE_LIMIT"]
    status_code: Literal[429] = Field(alias="statusCode")


class ServiceUnavailable(Error):
    """The database could not serve the request now; nothing was changed. Send it again after
    ``Retry-After`` seconds (with the same ``Idempotency-Key`` for an order)."""

    name: Literal["ServiceUnavailableError"]
    code: Literal[503]
    type: Literal["SERVICE_UNAVAILABLE"]
    status_code: Literal[503] = Field(alias="statusCode")


class FieldError(Shape):
    type: ErrorType
    message: str
    field: str = Field(description="Dotted path of the field, with indexes for arrays")


class ValidationError(Shape):
    """Every invalid field of the request, each with its dotted path."""

    name: Literal["ValidationError"]
    message: str
    code: Literal[422]
    type: Literal["VALIDATION_ERROR"]
    status_code: Literal[422] = Field(alias="statusCode")
    status: Literal["error"]
    data: list[FieldError]


# --------------------------------------------------------------------------------------------
# Rendering core views


def iso_millis(value: dt.datetime) -> str:
    # isoformat truncates to milliseconds as the wire wants and is several times faster than
    # strftime; in UTC it always ends in "+00:00".
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def render_item(product: Product, category: str) -> Item:
    services = product.services
    return Item.model_validate(
        {
            "id": product.item_id,
            "title": product.name,
            "category": category,
            "delivery": "delivery" in services,
            "assembly": "assembly" in services,
            "delivery_price": int(services.get("delivery", 0)),
            "assembly_price": int(services.get("assembly", 0)),
            "currency": product.currency,
        }
    )


def _store(location: Location) -> dict[str, Any]:
    return {"store_id": location.key, "store_title": location.title, "timezone": location.timezone}


def render_store(location: Location) -> Store:
    return Store.model_validate(_store(location))


def render_created(view: OrderView) -> Created:
    order = view.order
    location = view.location
    return Created.model_validate(
        {
            "_id": order.id,
            "title": order.title,
            "_status": order.status,
            "_substatus": order.substatus,
            "partner": view.organization_key,
            "partner_details": {
                "instock": order.ready,
                "store_id": location.key,
                "store_title": location.title,
            },
            "created_at": iso_millis(order.created_at),
        }
    )


def _booked(day: dt.date | None, slot: str | None) -> dict[str, str] | None:
    return {"date": day.isoformat(), "timeslot": slot} if day and slot else None


def _order(view: OrderView) -> dict[str, Any]:
    order = view.order
    location = view.location
    customer = order.customer
    items = []
    for line in order.lines:
        services = {s["name"] for s in line.services}
        items.append(
            {
                "id": line.snapshot.get("item_id", line.product_id),
                "count": line.quantity,
                "delivery": "delivery" in services,
                "assembly": "assembly" in services,
            }
        )
    return {
        "_id": order.id,
        "title": order.title,
        "_status": order.status,
        "_substatus": order.substatus,
        "partner": view.organization_key,
        "partner_details": {
            "instock": order.ready,
            "store_id": location.key,
            "store_title": location.title,
            "delivery_type": order.fulfilment.get("delivery_type", "to_pavement"),
        },
        "created_at": iso_millis(order.created_at),
        "datetime": [{"date": p["date"], "timeslot": p["slot"]} for p in order.preferences],
        "booked": _booked(order.booked_day, order.booked_slot),
        "customer": {
            "phone_number": customer.get("phone", ""),
            "first_name": customer.get("first_name", ""),
            "last_name": customer.get("last_name", ""),
        },
        "address": order.address,
        "items": items,
        "payment_method": order.payment_method,
        "image_uuids": view.image_ids,
        "updated_at": iso_millis(order.updated_at),
    }


def render_order(view: OrderView) -> Order:
    return Order.model_validate(_order(view))


def render_quote(quote: CoreQuote) -> Quote:
    order = quote.order
    items = []
    for line in order.lines:
        prices = {s["name"]: int(s["price"]) for s in line.services}
        items.append(
            {
                "id": line.snapshot.get("item_id", line.product_id),
                "title": line.name,
                "count": line.quantity,
                "delivery": "delivery" in prices,
                "assembly": "assembly" in prices,
                "delivery_price": prices.get("delivery", 0),
                "assembly_price": prices.get("assembly", 0),
                "total": line.total,
            }
        )
    return Quote.model_validate(
        {
            "title": order.title,
            "_status": order.status,
            "_substatus": order.substatus,
            "store": _store(quote.location),
            "instock": order.ready,
            "delivery_type": order.fulfilment.get("delivery_type", "to_pavement"),
            "payment_method": order.payment_method,
            "booked": _booked(order.booked_day, order.booked_slot),
            "items": items,
            "subtotal": order.subtotal,
            "delivery_fee": order.delivery_fee,
            "discount": order.discount,
            "total": order.total,
            "currency": order.currency,
        }
    )


def render_event(kind: str, view: OrderView, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """Webhook payloads for a core order event (registered with the outbox at import).

    The payload is checked against :class:`Event` and then stored as built: strict validation
    changes nothing in a dict that passes it, so dumping the model again would only give back
    an equal dict, at a quarter of the rendering's cost, inside every order's transaction.
    """
    name = "order.created" if kind == "created" else "order.status_changed"
    payload = {"event": name, "created_at": iso_millis(now), "data": _order(view)}
    Event.__pydantic_validator__.validate_python(payload)
    return [(name, payload)]
