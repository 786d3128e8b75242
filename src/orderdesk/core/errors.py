"""Typed domain errors. Dialects map them to their own wire errors in one place each.

A :class:`FieldError` carries a *path* chosen by the caller: the dialect hands the core its inputs
together with the wire path each came from (see ``Located``), so the core can name the offending
field in the client's own terms without knowing the client's JSON shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
