"""Every failure of the partner API in its one error shape.

``{"name", "message", "code", "type", "statusCode", "status": "error", "data"}`` with the HTTP
status equal to ``code``; validation errors list every invalid field in ``data``.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from orderdesk.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    Throttled,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from orderdesk.core.idempotency.service import IdempotencyMismatch
from orderdesk.http.body import BodyTooLarge

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


def unauthorized() -> JSONResponse:
    return error_response(401, "Unauthorized")


def render_domain_error(exc: DomainError) -> JSONResponse:
    if isinstance(exc, ValidationFailed):
        data = [{"type": e.type, "message": e.message, "field": e.path} for e in exc.errors]
        return error_response(422, exc.summary, data)
    if isinstance(exc, IdempotencyMismatch):
        return error_response(
            422,
            exc.message,
            [{"type": "conflict", "message": exc.message, "field": "Idempotency-Key"}],
        )
    if isinstance(exc, Unauthorized):
        return unauthorized()
    if isinstance(exc, Throttled):
        return error_response(429, exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, Unavailable):
        return error_response(503, exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, NotFound):
        return error_response(404, exc.message)
    if isinstance(exc, Conflict):
        return error_response(409, exc.message)
    if isinstance(exc, BodyTooLarge):
        return error_response(413, exc.message)
    return error_response(400, exc.message)
