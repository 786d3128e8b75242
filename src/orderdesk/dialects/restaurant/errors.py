"""Every failure of the restaurant API as ``{"success": false, "error": CODE, "message": ...}``.

Authentication failures use their HTTP status (401/403); every other error is HTTP 200, as the
original API does, except the two idempotency answers (409 in progress, 422 key reused with
another body), which the shared retry contract gives their own status.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from orderdesk.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    Throttled,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from orderdesk.core.fulfilment.geocoder import GeocoderUnavailable
from orderdesk.core.idempotency.service import IdempotencyInProgress, IdempotencyMismatch
from orderdesk.core.orders.confirmation import InvalidToken, OrderTimedOut
from orderdesk.http.body import BodyTooLarge

# A core field error's reason, as this dialect's error code.
_REASON_CODES = {
    "product_not_found": "PRODUCT_NOT_FOUND",
    "product_unavailable": "PRODUCT_NOT_AVAILABLE",
    "option_not_found": "OPTION_NOT_FOUND",
    "option_value_not_found": "OPTION_VALUE_NOT_FOUND",
    "address_invalid": "INVALID_ADDRESS",
    "coupon_invalid": "COUPON_ERROR",
    "location_not_found": "SUBRESTAURANT_NOT_FOUND",
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
    if error.reason in _REASON_CODES:
        return _REASON_CODES[error.reason]
    return "MISSING_PARAMETER" if error.type == "required" else "VALIDATION_ERROR"


def _validation(exc: ValidationFailed) -> JSONResponse:
    first = exc.errors[0] if exc.errors else FieldError("body", "format", "invalid request")
    message = f"{first.path}: {first.message}"
    if len(exc.errors) > 1:
        others = "; ".join(f"{e.path}: {e.message}" for e in exc.errors[1:6])
        message += f" (also {others})"
    return failure(code_for(first), message)


def render_domain_error(exc: DomainError) -> JSONResponse:
    if isinstance(exc, WireError):
        return failure(exc.code, exc.message, exc.status_code)
    if isinstance(exc, InvalidToken):
        return failure("INVALID_TOKEN", exc.message)
    if isinstance(exc, OrderTimedOut):
        return failure("TIMEOUT", exc.message)
    if isinstance(exc, GeocoderUnavailable):
        return failure("INTERNAL_ERROR", f"address: {exc.message}")
    if isinstance(exc, ValidationFailed):
        return _validation(exc)
    if isinstance(exc, IdempotencyMismatch):
        return failure("VALIDATION_ERROR", f"Idempotency-Key: {exc.message}", 422)
    if isinstance(exc, IdempotencyInProgress):
        return failure("INVALID_ACTION", f"Idempotency-Key: {exc.message}", 409)
    if isinstance(exc, Unauthorized):
        return failure("INVALID_AUTH", exc.message, 401)
    if isinstance(exc, Throttled):
        return failure(
            "RATE_LIMIT_EXCEEDED", exc.message, headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, Unavailable):
        return failure("INTERNAL_ERROR", exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, NotFound):
        return failure("NOT_FOUND", exc.message)
    if isinstance(exc, Conflict):
        return failure("INVALID_ACTION", exc.message)
    if isinstance(exc, BodyTooLarge):
        return failure("VALIDATION_ERROR", f"body: {exc.message}", 413)
    return failure("INVALID_ACTION", exc.message)


def http_error(status_code: int, message: str) -> JSONResponse:
    if status_code == 404:
        return failure("NOT_FOUND", message, 404)
    if status_code == 405:
        return failure("INVALID_ACTION", message, 405)
    return failure("INTERNAL_ERROR", message, status_code)
