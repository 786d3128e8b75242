"""Every failure of the restaurant API as ``{"success": false, "error": CODE, "message": ...}``.

Authentication failures use their HTTP status (401/403); every other error is HTTP 200, as the
original API does, except the two idempotency answers (409 in progress, 422 key reused with
another body), which the shared retry contract gives their own status. Which domain error
becomes which code is the table :data:`ERRORS` (checked against every domain error by
tests/dialects/test_error_tables.py).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from orderdesk.core.errors import (
    BodyTooLarge,
    Conflict,
    DecodeBusy,
    DomainError,
    FieldError,
    GeocoderUnavailable,
    IdempotencyInProgress,
    IdempotencyMismatch,
    InvalidToken,
    NotFound,
    OrderTimedOut,
    StaleOrder,
    StorageUnavailable,
    Throttled,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from orderdesk.dialects.base import ErrorTable

# A core field error's reason, as this dialect's error code.
_REASON_CODES = {
    "product_not_found": "PRODUCT_NOT_FOUND",
    "product_unavailable": "PRODUCT_NOT_AVAILABLE",
    "option_not_found": "OPTION_NOT_FOUND",
    "option_value_not_found": "OPTION_VALUE_NOT_FOUND",
    "address_invalid": "INVALID_ADDRESS",
    "coupon_invalid": "COUPON_ERROR",
    "coupon_used_up": "COUPON_ERROR",
    "location_not_found": "SUBRESTAURANT_NOT_FOUND",
    # A paused location (busy mode) is answered like a closed one: the platform has no code of
    # its own for "not taking orders", and a time outside opening hours is a VALIDATION_ERROR.
    "location_paused": "VALIDATION_ERROR",
}


class WireError(DomainError):
    """An error this dialect names itself (``NOT_FOUND``, ``INVALID_TOKEN``, ``TIMEOUT``...)."""

    def __init__(self, code: str, message: str, status_code: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code


def failure(
    code: str, message: str, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": code, "message": message},
        status_code=status_code,
        headers=headers,
    )


def code_for(error: FieldError) -> str:
    # A missing input is a missing parameter, whatever rule noticed it (the seed's own code).
    if error.type == "required":
        return "MISSING_PARAMETER"
    return _REASON_CODES.get(error.reason or "", "VALIDATION_ERROR")


def _validation(exc: ValidationFailed) -> JSONResponse:
    first = exc.errors[0] if exc.errors else FieldError("body", "format", "invalid request")
    message = f"{first.path}: {first.message}"
    if len(exc.errors) > 1:
        others = "; ".join(f"{e.path}: {e.message}" for e in exc.errors[1:6])
        message += f" (also {others})"
    return failure(code_for(first), message)


def _code(code: str, status_code: int = 200, prefix: str = "") -> Any:
    def render(exc: DomainError) -> JSONResponse:
        return failure(code, prefix + exc.message, status_code)

    return render


def _retry_later(code: str) -> Any:
    def render(exc: Throttled | Unavailable) -> JSONResponse:
        return failure(code, exc.message, headers={"Retry-After": str(exc.retry_after)})

    return render


def _own(exc: WireError) -> JSONResponse:
    return failure(exc.code, exc.message, exc.status_code)


ERRORS: ErrorTable = {
    WireError: _own,
    ValidationFailed: _validation,
    InvalidToken: _code("INVALID_TOKEN"),
    OrderTimedOut: _code("TIMEOUT"),
    StaleOrder: _code("INVALID_ACTION"),
    GeocoderUnavailable: _code("INTERNAL_ERROR", prefix="address: "),
    IdempotencyMismatch: _code("VALIDATION_ERROR", 422, prefix="Idempotency-Key: "),
    IdempotencyInProgress: _code("INVALID_ACTION", 409, prefix="Idempotency-Key: "),
    Unauthorized: _code("INVALID_AUTH", 401),
    Throttled: _retry_later("RATE_LIMIT_EXCEEDED"),
    Unavailable: _retry_later("INTERNAL_ERROR"),
    StorageUnavailable: _retry_later("INTERNAL_ERROR"),
    DecodeBusy: _retry_later("INTERNAL_ERROR"),
    NotFound: _code("NOT_FOUND"),
    Conflict: _code("INVALID_ACTION"),
    BodyTooLarge: _code("VALIDATION_ERROR", 413, prefix="body: "),
    DomainError: _code("INVALID_ACTION"),
}


def http_error(status_code: int, message: str) -> JSONResponse:
    if status_code == 404:
        return failure("NOT_FOUND", message, 404)
    if status_code == 405:
        return failure("INVALID_ACTION", message, 405)
    return failure("INTERNAL_ERROR", message, status_code)
