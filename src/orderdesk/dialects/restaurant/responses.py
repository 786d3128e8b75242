"""Every answer of the restaurant API as documented in the OpenAPI document.

Exact shapes of what :mod:`orderdesk.dialects.restaurant.wire` renders (success) and
:mod:`orderdesk.dialects.restaurant.errors` sends (failure): every key is required and no other
key is allowed, so a response that drifts from its documentation fails the fuzz tests. Most
failures are HTTP 200 like successes, so a 200 is documented as one of two shapes, told apart by
``success``. Money is a JSON number in major units. Components are named with the
``Restaurant`` prefix (``RestaurantOrder``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from orderdesk.http.responses import Documented, OneOf, ResponseMap

# ``local_text``: the location's local time; ``iso``: UTC ISO 8601.
LocalTime = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:"
        r"[0-9]{2}$"
    ),
]
IsoTime = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")]
IsoDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
Money = float
PriceOperator = Literal["+", "-", "="]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    type: Literal["single", "multiple"]
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
    dmethod: str
    fee: Money
    payment_method: str
    payment_method_sub: str | None
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
    """An order as ``POST /order/create`` answers it."""

    uid: str
    token: str
    order_number: str
    total: Money
    date: LocalTime
    confirmed: bool
    delivery_fee: Money
    pickup_date: LocalTime | None
    delivery_date: LocalTime | None


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
    type: Literal["single", "multiple"]
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


# --------------------------------------------------------------------------------------------
# Failures


class Failure(Shape):
    """A failure; ``message`` names the field or parameter at fault."""

    success: Literal[False]
    error: str
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
