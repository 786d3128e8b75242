"""Which answers each partner operation can give, for the OpenAPI document.

The shapes themselves are the models in :mod:`orderdesk.dialects.partner.wire` that the routes
build and send (and :mod:`orderdesk.dialects.partner.errors` sends for failures), so this table
only pairs operations and statuses with them; :func:`orderdesk.http.responses.document_responses`
writes it into the document.
"""

from __future__ import annotations

from orderdesk.dialects.partner.wire import (
    Conflict,
    CreatedOk,
    FreeSlotsOk,
    ItemsOk,
    LoginOk,
    NotFound,
    OrderOk,
    OrdersOk,
    PayloadTooLarge,
    QuoteOk,
    RequestTimeout,
    RevokedOk,
    ServiceUnavailable,
    StoresOk,
    TooManyRequests,
    Unauthorized,
    UploadedOk,
    ValidationError,
)
from orderdesk.http.responses import Binary, Documented, ResponseMap

UNAUTHORIZED: dict[int, Documented] = {401: Unauthorized}
NOT_FOUND: dict[int, Documented] = {404: NotFound}
CONFLICT: dict[int, Documented] = {409: Conflict}
# Operations that read a body: too large (413), or too slow to arrive (408).
BODY_LIMITS: dict[int, Documented] = {408: RequestTimeout, 413: PayloadTooLarge}
INVALID: dict[int, Documented] = {422: ValidationError}
THROTTLED: dict[int, Documented] = {429: TooManyRequests}
UNAVAILABLE: dict[int, Documented] = {503: ServiceUnavailable}

# Paths relative to the router (mounted at /partner). Every operation may also answer 503.
_RESPONSES: dict[tuple[str, str], dict[int, Documented]] = {
    ("POST", "/auth/authorize"): {
        200: LoginOk,
        **UNAUTHORIZED,
        **BODY_LIMITS,
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
        **BODY_LIMITS,
        **INVALID,
        **THROTTLED,
    },
    ("GET", "/images/{name}"): {200: Binary("image/webp", "The image"), **NOT_FOUND, **THROTTLED},
    ("POST", "/order/create"): {
        200: CreatedOk,
        **UNAUTHORIZED,
        **CONFLICT,
        **BODY_LIMITS,
        **INVALID,
        **THROTTLED,
    },
    ("POST", "/order/quote"): {
        200: QuoteOk,
        **UNAUTHORIZED,
        **BODY_LIMITS,
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
        **BODY_LIMITS,
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
