"""Every answer of the partner API as documented in the OpenAPI document.

Exact shapes of what :mod:`orderdesk.dialects.partner.wire` renders (success) and
:mod:`orderdesk.dialects.partner.errors` sends (failure): every key is required and no other key
is allowed, so a response that drifts from its documentation fails the fuzz tests. Components
are named with the ``Partner`` prefix (``PartnerOrder``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from orderdesk.core.errors import ErrorType
from orderdesk.http.responses import Binary, Documented, ResponseMap

Timeslot = Literal["0712", "1217", "1721"]
DeliveryType = Literal["to_pavement", "to_door_by_lift", "to_door_by_stairs"]
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# ``iso_millis``: UTC with milliseconds, ``2026-12-01T09:30:00.000Z``.
Timestamp = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
        r"[0-9]{2}\.[0-9]{3}Z$"
    ),
]
Date = Annotated[str, Field(pattern=DATE_PATTERN)]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------
# Payloads


class User(Shape):
    login: str
    partner: str
    partner_title: str


class Login(Shape):
    token: str
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
    delivery: bool
    assembly: bool
    delivery_price: int
    assembly_price: int
    currency: str


class Store(Shape):
    store_id: str
    store_title: str
    timezone: str


class UploadedImage(Shape):
    id: str
    url: str
    mimetype: str


class CreatedDetails(Shape):
    instock: bool
    store_id: str
    store_title: str


class OrderDetails(CreatedDetails):
    delivery_type: DeliveryType


class Created(Shape):
    """The order as ``POST /order/create`` answers it."""

    id: int = Field(alias="_id")
    title: str
    status: str = Field(alias="_status")
    substatus: str = Field(alias="_substatus")
    partner: str
    partner_details: CreatedDetails
    created_at: Timestamp


class DateTime(Shape):
    date: Date
    timeslot: Timeslot


class Customer(Shape):
    phone_number: str
    first_name: str
    last_name: str


class Coordinates(Shape):
    lat: float
    lon: float


class Address(Shape):
    address: str
    coordinates: Coordinates
    details: str
    zip: str


class OrderItem(Shape):
    id: int
    count: int
    delivery: bool
    assembly: bool


class Order(Shape):
    """One order as the list, get and change endpoints answer it."""

    id: int = Field(alias="_id")
    title: str
    status: str = Field(alias="_status")
    substatus: str = Field(alias="_substatus")
    partner: str
    partner_details: OrderDetails
    created_at: Timestamp
    datetime: list[DateTime]
    booked: DateTime | None
    customer: Customer
    address: Address | None
    items: list[OrderItem]
    payment_method: str
    image_uuids: list[str]
    updated_at: Timestamp


# --------------------------------------------------------------------------------------------
# Envelopes


class Envelope(Shape):
    status: Literal["ok"]
    status_code: Literal[200] = Field(alias="statusCode")


class LoginOk(Envelope):
    """A token for the ``token`` header of every other call."""

    data: Login


class RevokedOk(Envelope):
    """The token of this request no longer works."""

    data: Revoked


class FreeSlotsOk(Envelope):
    """Free master slots by local date (``YYYY-MM-DD``), for the booking window."""

    data: dict[Date, FreeSlots] = Field(json_schema_extra={"additionalProperties": False})


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


# --------------------------------------------------------------------------------------------
# Errors


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
    field: str


class ValidationError(Shape):
    """Every invalid field of the request, each with its dotted path."""

    name: Literal["ValidationError"]
    message: str
    code: Literal[422]
    type: Literal["VALIDATION_ERROR"]
    status_code: Literal[422] = Field(alias="statusCode")
    status: Literal["error"]
    data: list[FieldError]


UNAUTHORIZED: dict[int, Documented] = {401: Unauthorized}
NOT_FOUND: dict[int, Documented] = {404: NotFound}
CONFLICT: dict[int, Documented] = {409: Conflict}
TOO_LARGE: dict[int, Documented] = {413: PayloadTooLarge}
INVALID: dict[int, Documented] = {422: ValidationError}
THROTTLED: dict[int, Documented] = {429: TooManyRequests}
UNAVAILABLE: dict[int, Documented] = {503: ServiceUnavailable}

# Paths relative to the router (mounted at /partner). Every operation may also answer 503.
_RESPONSES: dict[tuple[str, str], dict[int, Documented]] = {
    ("POST", "/auth/authorize"): {
        200: LoginOk,
        **UNAUTHORIZED,
        **TOO_LARGE,
        **INVALID,
        **THROTTLED,
    },
    ("POST", "/auth/revoke"): {200: RevokedOk, **UNAUTHORIZED, **INVALID, **THROTTLED},
    ("GET", "/slots/free"): {200: FreeSlotsOk, **INVALID, **THROTTLED},
    ("GET", "/item/list"): {200: ItemsOk, **UNAUTHORIZED, **INVALID, **THROTTLED},
    ("GET", "/item/find"): {200: ItemsOk, **UNAUTHORIZED, **INVALID, **THROTTLED},
    ("GET", "/store/list"): {200: StoresOk, **UNAUTHORIZED, **THROTTLED},
    ("POST", "/image/upload"): {
        200: UploadedOk,
        **UNAUTHORIZED,
        **TOO_LARGE,
        **INVALID,
        **THROTTLED,
    },
    ("GET", "/images/{name}"): {200: Binary("image/webp", "The image"), **NOT_FOUND, **THROTTLED},
    ("POST", "/order/create"): {
        200: CreatedOk,
        **UNAUTHORIZED,
        **CONFLICT,
        **TOO_LARGE,
        **INVALID,
        **THROTTLED,
    },
    ("GET", "/order/list"): {200: OrdersOk, **UNAUTHORIZED, **INVALID, **THROTTLED},
    ("GET", "/order/{order_id}"): {200: OrderOk, **UNAUTHORIZED, **NOT_FOUND, **THROTTLED},
    ("POST", "/order/{order_id}/instock"): {
        200: OrderOk,
        **UNAUTHORIZED,
        **NOT_FOUND,
        **CONFLICT,
        **INVALID,
        **THROTTLED,
    },
    ("POST", "/order/{order_id}/datetime"): {
        200: OrderOk,
        **UNAUTHORIZED,
        **NOT_FOUND,
        **CONFLICT,
        **TOO_LARGE,
        **INVALID,
        **THROTTLED,
    },
    ("POST", "/order/{order_id}/cancel"): {
        200: OrderOk,
        **UNAUTHORIZED,
        **NOT_FOUND,
        **CONFLICT,
        **THROTTLED,
    },
}

RESPONSES: ResponseMap = {
    operation: {**answers, **UNAVAILABLE} for operation, answers in _RESPONSES.items()
}
