"""Every failure of the partner API in its one error shape.

``{"name", "message", "code", "type", "statusCode", "status": "error", "data"}`` with the HTTP
status equal to ``code``; validation errors list every invalid field in ``data``. Which domain
error becomes which answer is the table :data:`ERRORS` (checked against every domain error by
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

_KINDS: dict[int, tuple[str, str]] = {
    400: ("BadRequestError", "BAD_REQUEST"),
    401: ("UnAuthorizedError", "NO_RIGHTS"),
    404: ("NotFoundError", "NOT_FOUND"),
    405: ("MethodNotAllowedError", "METHOD_NOT_ALLOWED"),
    408: ("RequestTimeoutError", "REQUEST_TIMEOUT"),
    409: ("ConflictError", "CONFLICT"),
    413: ("PayloadTooLargeError", "PAYLOAD_TOO_LARGE"),
    422: ("ValidationError", "VALIDATION_ERROR"),
    429: ("TooManyRequestsError", "RATE_LIMIT"),
    500: ("InternalError", "INTERNAL_ERROR"),
    503: ("ServiceUnavailableError", "SERVICE_UNAVAILABLE"),
}


def error_response(
    code: int, message: str, data: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    name, kind = _KINDS.get(code, ("Error", "ERROR"))
    body = {
        "name": name,
        "message": message,
        "code": code,
        "type": kind,
        "statusCode": code,
        "status": "error",
        "data": data,
    }
    return JSONResponse(body, status_code=code, headers=headers)


class Challenge(Unauthorized):
    """A refused credential, with what the ``WWW-Authenticate`` header tells the client.

    The body stays the documented ``"message": "Unauthorized"`` for every case; the header, in
    the style of RFC 6750, is where a client developer learns whether the token was missing,
    not accepted, or sent the wrong way. It never says which logins exist.
    """

    def __init__(self, error: str | None = None, description: str | None = None) -> None:
        super().__init__("Unauthorized")
        self.error = error
        self.description = description


def challenge(error: str | None = None, description: str | None = None) -> str:
    """The ``WWW-Authenticate`` value: the ``token`` header's scheme, realm and what was wrong."""
    params = ['realm="partner"']
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{description}"')
    return "Token " + ", ".join(params)


def unauthorized(exc: Unauthorized | None = None) -> JSONResponse:
    error = exc.error if isinstance(exc, Challenge) else None
    description = exc.description if isinstance(exc, Challenge) else None
    return error_response(
        401, "Unauthorized", headers={"WWW-Authenticate": challenge(error, description)}
    )


def _validation(exc: ValidationFailed) -> JSONResponse:
    data = [{"type": e.type, "message": e.message, "field": e.path} for e in exc.errors]
    return error_response(422, exc.summary, data)


def _key_reused(exc: IdempotencyMismatch) -> JSONResponse:
    return error_response(
        422, exc.message, [{"type": "conflict", "message": exc.message, "field": "Idempotency-Key"}]
    )


def _retry_later(code: int) -> Any:
    def render(exc: Throttled | Unavailable) -> JSONResponse:
        return error_response(code, exc.message, headers={"Retry-After": str(exc.retry_after)})

    return render


def _status(code: int) -> Any:
    def render(exc: DomainError) -> JSONResponse:
        return error_response(code, exc.message)

    return render


ERRORS: ErrorTable = {
    ValidationFailed: _validation,
    IdempotencyMismatch: _key_reused,
    # One body for every authentication failure; the header says what the client should fix
    # (missing token, token not accepted, wrong header) without telling a guesser more.
    Unauthorized: unauthorized,
    Throttled: _retry_later(429),
    Unavailable: _retry_later(503),
    StorageUnavailable: _retry_later(503),
    DecodeBusy: _retry_later(503),
    GeocoderUnavailable: _status(503),
    NotFound: _status(404),
    Conflict: _status(409),
    IdempotencyInProgress: _status(409),
    InvalidToken: _status(400),
    OrderTimedOut: _status(409),
    StaleOrder: _status(409),
    BodyTooLarge: _status(413),
    DomainError: _status(400),
}
