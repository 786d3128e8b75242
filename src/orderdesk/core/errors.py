"""Typed domain errors. Dialects map them to their own wire errors in one place each.

A :class:`FieldError` raised by an order service carries a path in the core's own field names
(listed in :mod:`orderdesk.core.orders.schemas`); a dialect renames them to its wire paths at its
edge (:meth:`ValidationFailed.renamed`), so the core never learns any client's JSON shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

ErrorType = Literal[
    "required",
    "type",
    "enum",
    "format",
    "min",
    "max",
    "not_found",
    "unavailable",
    "conflict",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input. ``reason`` is a finer, dialect-neutral cause (``"option_not_found"``,
    ``"coupon_invalid"``, ...) for dialects whose error codes are more specific than ``type``."""

    path: str
    type: ErrorType
    message: str
    reason: str | None = None

    def renamed(self, rename: Callable[[str], str]) -> FieldError:
        return replace(self, path=rename(self.path))


class DomainError(Exception):
    """Base of everything the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ValidationFailed(DomainError):
    """One or more inputs are invalid; every problem found is listed, not only the first."""

    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        DomainError.__init__(self, self.summary)

    def renamed(self, rename: Callable[[str], str]) -> ValidationFailed:
        """The same failure with every path passed through ``rename``; the summary follows,
        because dialects show it to clients."""
        return ValidationFailed(errors=[error.renamed(rename) for error in self.errors])

    @property
    def summary(self) -> str:
        if not self.errors:
            return "Validation failed"
        first = self.errors[0]
        more = len(self.errors) - 1
        return f"{first.path}: {first.message}" + (f" (and {more} more)" if more else "")


class NotFound(DomainError):
    """The thing does not exist, or belongs to someone the caller may not see."""


class Conflict(DomainError):
    """The request cannot be applied to the current state (illegal transition, in progress...)."""


class Unauthorized(DomainError):
    """Credentials are missing, wrong, expired or revoked."""


class Throttled(DomainError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """The server cannot serve the request now (its database is busy or unreachable); nothing
    was written, and the same request may be sent again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ErrorCollector:
    """Accumulates field errors so that a request is validated completely before failing."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, type_: ErrorType, message: str, reason: str | None = None) -> None:
        self.errors.append(FieldError(path, type_, message, reason))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(errors=list(self.errors))


# Every other error the core and the HTTP layer raise on purpose. They live here, beside their
# bases, so that each dialect's error table can be checked against one list (tests/dialects).


class IdempotencyInProgress(Conflict):
    """The same idempotency key is being processed right now by another request."""


class IdempotencyMismatch(DomainError):
    """The idempotency key was used before with a different request body."""


class InvalidToken(DomainError):
    """An order's confirmation token does not match."""


class OrderTimedOut(Conflict):
    """The confirmation countdown ran out before the order was confirmed."""


class StaleOrder(Conflict):
    """An action was asked of the order as it was at ``expected`` version, and it has changed
    since (another operator, a client API, the countdown). Nothing was written; ``current`` is
    the order as it is now (an ``OrderView``), so the caller can show what changed."""

    def __init__(self, expected: int, current: object) -> None:
        super().__init__(f"the order changed since version {expected}; nothing was changed")
        self.expected = expected
        self.current = current


class GeocoderUnavailable(DomainError):
    """The geocoding server could not answer; the address may well exist. Retry later."""


class BodyTooLarge(DomainError):
    """The request body is over the configured limit, declared or streamed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit


class StorageUnavailable(Unavailable):
    """The media store cannot be written or read now (full, read-only, no permission, I/O
    error); nothing was stored, and the same request may be sent again later."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(
            "The image store is temporarily unavailable; nothing was stored, retry "
            f"in {retry_after} s",
            retry_after=retry_after,
        )
        self.reason = reason


class DecodeBusy(Unavailable):
    """No image decode memory became free within the wait limit; nothing was stored."""
