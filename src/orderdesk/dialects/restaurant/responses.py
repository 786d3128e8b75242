"""Every answer of the restaurant API: the models routes build and send, and the document shows.

:mod:`orderdesk.dialects.restaurant.wire` renders each answer as one of these models and the
routes send exactly its JSON, so the OpenAPI document cannot drift from what is sent. Every key is
required and no other key is allowed. Most failures are HTTP 200 like successes, so a 200 is
documented as one of two shapes, told apart by ``success``. Money is a JSON number in major
units. Components are named and titled with the ``Restaurant`` prefix (``RestaurantOrder``):
the partner dialect has models of the same names, and client generators name classes by title.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from orderdesk.http.responses import Documented, OneOf, ResponseMap


def restaurant_title(model: type[BaseModel]) -> str:
    return f"Restaurant{model.__name__}"


# ``local_text``: the location's local time; ``iso``: UTC RFC 3339.
LocalTime = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
        description="The location's local time, YYYY-MM-DD HH:MM:SS",
    ),
]
IsoTime = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$",
        description="UTC, RFC 3339 with Z",
    ),
]
IsoDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
# Major units: a float for currencies with decimals (17.5), an integer for those without (1750
# JPY); the union keeps which one it was instead of turning 1750 into 1750.0.
Money = Annotated[int | float, WithJsonSchema({"type": "number"})]
PriceOperator = Literal["+", "-", "="]
OptionType = Literal["single", "multiple"]
PaymentMethod = Literal["cash", "invoice", "external"]
DMETHOD_PATTERN = r"^(0|1|0t|20|0e-[^\s]+|dcf-[^\s]+)$"
DMETHOD_DESCRIPTION = (
    "Delivery method: `0` pickup at the restaurant, `1` home delivery, `0t` at the table, "
    "`20` pickup at a pickup point, `0e-{id}` the event {id}, `dcf-{id}` the custom method "
    "{id}. Which of them a restaurant accepts is its own setting."
)
DMethod = Annotated[str, Field(pattern=DMETHOD_PATTERN, description=DMETHOD_DESCRIPTION)]

# Every code a failure of this dialect can carry.
ErrorCode = Literal[
    "INVALID_KEY",
    "INVALID_AUTH",
    "RESTAURANT_NOT_FOUND",
    "API_DISABLED",
    "INSUFFICIENT_SCOPE",
    "UNAUTHORIZED",
    "INVALID_ACTION",
    "VALIDATION_ERROR",
    "MISSING_PARAMETER",
    "RATE_LIMIT_EXCEEDED",
    "INTERNAL_ERROR",
    "NOT_FOUND",
    "PRODUCT_NOT_FOUND",
    "PRODUCT_NOT_AVAILABLE",
    "OPTION_NOT_FOUND",
    "OPTION_VALUE_NOT_FOUND",
    "INVALID_ADDRESS",
    "COUPON_ERROR",
    "SUBRESTAURANT_NOT_FOUND",
    "CATEGORY_NOT_FOUND",
    "INVALID_TOKEN",
    "TIMEOUT",
    "CANNOT_APPLY",
]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", model_title_generator=restaurant_title)


# --------------------------------------------------------------------------------------------
# Payloads


class Client(Shape):
    uid: str
    first_name: str
    last_name: str
    phone: str
    email: str


class LineProduct(Shape):
    uid: str
    name: str
    price: Money
    category: str | None
    category_uid: str | None
    ext_id: str | None


class LineValue(Shape):
    uid: str
    name: str
    price_operator: PriceOperator
    price_operand: Money
    quantity: int
    ext_id: str | None


class LineOption(Shape):
    uid: str
    name: str
    type: OptionType
    values: list[LineValue]


class Line(Shape):
    product: LineProduct
    options: list[LineOption]
    price: Money
    price_options: Money
    quantity: int
    total: Money
    notes: str


class When(Shape):
    date: LocalTime
    date_iso: IsoTime


class DeliveryAddress(Shape):
    street: str
    number: str
    city: str
    province: str
    zip: str
    country: str
    place_id: str
    lat: float
    lng: float
    kms: float
    doorbell: str
    floor: str


class Delivery(When):
    address: DeliveryAddress


class OrderCoupon(Shape):
    code: str
    discount: Money


class ConfirmationState(Shape):
    confirmed: bool
    countdown_time: int | None
    countdown_started: LocalTime | None
    countdown_end: LocalTime | None
    timeout: bool
    closed: bool
    date: LocalTime | None


class Order(Shape):
    """An order as the list, get, confirm and close endpoints answer it."""

    uid: str
    token: str
    date: LocalTime
    date_iso: IsoTime
    number: int
    order_number: str
    client: Client
    details: list[Line]
    dmethod: DMethod
    fee: Money
    payment_method: PaymentMethod
    payment_method_sub: Annotated[
        str | None,
        Field(description="One of the restaurant's `payment_method_subs` when paid in cash"),
    ]
    paid: bool
    total: Money
    currency: str
    closed: bool
    subrestaurant_uid: str
    notes: str
    pickup: When | None
    delivery: Delivery | None
    coupon: OrderCoupon | None
    confirmation: ConfirmationState


class Created(Shape):
    """An order as ``POST /order/create`` answers it; times in UTC as on the seed's page."""

    uid: str
    token: str
    order_number: str
    total: Money
    date: IsoTime
    confirmed: bool
    delivery_fee: Money
    pickup_date: IsoTime | None
    delivery_date: IsoTime | None


class QuotedOrder(Shape):
    """What an order would cost if created now: the lines priced with their options, the
    totals, the time it would be booked for (UTC) and where."""

    details: list[Line]
    subtotal: Money
    delivery_fee: Money
    discount: Money
    total: Money
    currency: str
    dmethod: DMethod
    subrestaurant_uid: str
    pickup_date: IsoTime | None
    delivery_date: IsoTime | None
    coupon: OrderCoupon | None


class Place(Shape):
    place_id: str
    street: str
    number: str
    city: str
    province: str
    zip: str
    country: str
    lat: float
    lng: float


class ValidatedAddress(Shape):
    address: Place
    subrestaurant_uid: str
    kms: float
    delivery_fee: Money


class FreeTime(Shape):
    date: LocalTime
    formatted: str


class FreeTimes(Shape):
    pickup_times: list[FreeTime]
    delivery_times: list[FreeTime]


class OptionValue(Shape):
    uid: str
    name: str
    short_name: str
    price_operator: PriceOperator
    price_operand: Money
    hidden: bool
    position: int
    checked_default: bool
    ext_id: str | None


class Option(Shape):
    uid: str
    name: str
    short_name: str
    type: OptionType
    min_selectable: int
    max_selectable: int
    max_quantity: int
    hidden: bool
    position: int
    ext_id: str | None
    option_values: list[OptionValue]


class Category(Shape):
    uid: str
    name: str
    description: str
    image: str | None
    products_count: int
    hidden: bool
    position: int
    subrestaurant_uids: list[str]
    ext_id: str | None
    options: list[Option]


class Product(Shape):
    uid: str
    category_uid: str | None
    name: str
    ingredients: str
    price: Money
    image: str | None
    hidden: bool
    position: int
    subrestaurant_uids: list[str]
    ext_id: str | None
    options: list[Option]


class ImportCounts(Shape):
    created: int
    updated: int
    unchanged: int
    hidden: int


class Subrestaurant(Shape):
    """A location. ``payment_method_subs`` is an extension: the ``payment_method_sub`` values an
    order paid in cash may name (the restaurant's own list, the same at each of its
    locations)."""

    uid: str
    name: str
    code: str | None
    address: str | None
    city: str | None
    province: str | None
    zip: str | None
    country: str | None
    phone: str | None
    email: str | None
    payment_method_subs: list[str]


class Coupon(Shape):
    code: str
    discount_perc: int
    quantity: int | None
    order_min: Money
    valid_from: IsoDate | None
    valid_to: IsoDate | None
    valid_weekdays: list[Annotated[int, Field(ge=1, le=7)]]
    valid_email: str | None


class CouponTotals(Shape):
    discount: Money
    total: Money


# --------------------------------------------------------------------------------------------
# Successes


class Success(Shape):
    success: Literal[True]


class Paged(Success):
    page: int
    pagesize: int
    total_count: int
    more: bool


class OrderCreated(Success):
    """The new order (or, for a repeated ``Idempotency-Key``, the first answer again)."""

    order: Created


class OrderQuoted(Success):
    """The priced order; nothing was stored or booked."""

    order: QuotedOrder


class AddressValidated(Success):
    data: ValidatedAddress


class TimesListed(Success):
    data: FreeTimes


class OrderPage(Paged):
    orders: list[Order]


class OrderFound(Success):
    order: Order


class CategoryPage(Paged):
    categories: list[Category]


class CategoryFound(Success):
    category: Category


class ProductPage(Paged):
    products: list[Product]


class ProductFound(Success):
    product: Product


class MenuImported(Success):
    data: ImportCounts


class SubrestaurantList(Success):
    subrestaurants: list[Subrestaurant]


class CouponApplied(Success):
    coupon: Coupon
    order: CouponTotals


class CouponGenerated(Success):
    coupon: Coupon


class AccessToken(Shape):
    """An OAuth 2.0 access token for ``Authorization: Bearer``."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


OrderEventName = Literal["order.new", "order.timeout", "order.confirmed", "order.closed"]


class OrderEvent(Shape):
    """A webhook: ``order.new``, ``order.timeout``, ``order.confirmed``, ``order.closed``."""

    # Every body sent carries ``event_id`` (the dispatcher sets it): documented as required.
    model_config = ConfigDict(
        extra="forbid",
        model_title_generator=restaurant_title,
        json_schema_serialization_defaults_required=True,
    )

    event_id: str = Field(
        "",
        description="The event's id, as in `X-Orderdesk-Event`: the same on every retry of the "
        "event; de-duplicate on it. Set when the event is sent.",
    )
    event: OrderEventName
    order: Order


class CountdownOrder(Shape):
    uid: str
    token: str
    confirmation: ConfirmationState


class CountdownEvent(Shape):
    """The webhook ``order.countdown_started``: the order waits for confirmation."""

    # Every body sent carries ``event_id`` (the dispatcher sets it): documented as required.
    model_config = ConfigDict(
        extra="forbid",
        model_title_generator=restaurant_title,
        json_schema_serialization_defaults_required=True,
    )

    event_id: str = Field(
        "",
        description="The event's id, as in `X-Orderdesk-Event`: the same on every retry of the "
        "event; de-duplicate on it. Set when the event is sent.",
    )
    event: Literal["order.countdown_started"]
    order: CountdownOrder


# --------------------------------------------------------------------------------------------
# Failures


class Failure(Shape):
    """A failure; ``message`` names the field or parameter at fault."""

    success: Literal[False]
    error: ErrorCode
    message: str


class AuthFailure(Failure):
    """Missing or wrong credentials, or a ``restuid`` that names no restaurant."""

    error: Literal["INVALID_KEY", "INVALID_AUTH", "RESTAURANT_NOT_FOUND"]


class Forbidden(Failure):
    """The API is disabled, the credentials lack the scope, or the data is another
    restaurant's."""

    error: Literal["API_DISABLED", "INSUFFICIENT_SCOPE", "UNAUTHORIZED"]


class KeyInProgress(Failure):
    """A request with the same ``Idempotency-Key`` is still being processed."""

    error: Literal["INVALID_ACTION"]


class KeyReused(Failure):
    """The ``Idempotency-Key`` was used before with another body."""

    error: Literal["VALIDATION_ERROR"]


class TooLarge(Failure):
    """The request body is larger than this endpoint accepts."""

    error: Literal["VALIDATION_ERROR"]


class OAuthError(Shape):
    """An RFC 6749 error."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str


def _answer(success: type[Success]) -> OneOf:
    return OneOf((success, Failure), "Success, or a failure with its error code (both HTTP 200)")


AUTH: dict[int, Documented] = {401: AuthFailure, 403: Forbidden}
TOO_LARGE: dict[int, Documented] = {413: TooLarge}

# Paths relative to the router (mounted at /api).
RESPONSES: ResponseMap = {
    ("POST", "/oauth/token"): {
        200: OneOf(
            (AccessToken, Failure), "An access token (or a failure such as a rate limit, HTTP 200)"
        ),
        400: OAuthError,
        401: OAuthError,
        **TOO_LARGE,
    },
    ("POST", "/order/create"): {
        200: _answer(OrderCreated),
        **AUTH,
        409: KeyInProgress,
        **TOO_LARGE,
        422: KeyReused,
    },
    ("POST", "/order/quote"): {200: _answer(OrderQuoted), **AUTH, **TOO_LARGE},
    ("POST", "/order/validate_address"): {200: _answer(AddressValidated), **AUTH, **TOO_LARGE},
    ("POST", "/order/pickup_delivery_times"): {200: _answer(TimesListed), **AUTH, **TOO_LARGE},
    ("GET", "/orders/list"): {200: _answer(OrderPage), **AUTH},
    ("GET", "/orders/get"): {200: _answer(OrderFound), **AUTH},
    ("POST", "/order/confirm"): {200: _answer(OrderFound), **AUTH},
    ("POST", "/order/close"): {200: _answer(OrderFound), **AUTH},
    ("GET", "/menu/categories"): {200: _answer(CategoryPage), **AUTH},
    ("GET", "/menu/category"): {200: _answer(CategoryFound), **AUTH},
    ("GET", "/menu/products"): {200: _answer(ProductPage), **AUTH},
    ("GET", "/menu/product"): {200: _answer(ProductFound), **AUTH},
    ("POST", "/menu/import"): {200: _answer(MenuImported), **AUTH, **TOO_LARGE},
    ("GET", "/account/subrestaurants"): {200: _answer(SubrestaurantList), **AUTH},
    ("POST", "/coupon/apply"): {200: _answer(CouponApplied), **AUTH},
    ("POST", "/coupon/generate"): {200: _answer(CouponGenerated), **AUTH},
}
