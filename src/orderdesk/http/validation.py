"""Turning pydantic's reports into core :class:`FieldError` lists with dotted wire paths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from orderdesk.core.errors import ErrorType, FieldError, ValidationFailed

M = TypeVar("M", bound=BaseModel)

_TYPES: dict[str, ErrorType] = {
    "missing": "required",
    "literal_error": "enum",
    "enum": "enum",
    "greater_than": "min",
    "greater_than_equal": "min",
    "too_short": "min",
    "string_too_short": "min",
    "less_than": "max",
    "less_than_equal": "max",
    "too_long": "max",
    "string_too_long": "max",
    "date_parsing": "format",
    "date_from_datetime_parsing": "format",
    "date_from_datetime_inexact": "format",
    "value_error": "format",
    "string_pattern_mismatch": "format",
    "json_invalid": "format",
}


def dotted(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "is required"
    return str(error["msg"])


def field_errors(errors: Iterable[Any], prefix: Sequence[str] = ()) -> list[FieldError]:
    found: list[FieldError] = []
    seen: set[str] = set()
    for error in errors:
        if error["type"] == "json_invalid":
            found.append(FieldError("body", "format", f"malformed JSON: {error['msg']}"))
            continue
        path = dotted([*prefix, *error["loc"]]) or "body"
        if path in seen:
            continue  # a union reports one failure per branch; one per field is enough
        seen.add(path)
        kind = _TYPES.get(error["type"], "type")
        found.append(FieldError(path, kind, _message(error)))
    return found


_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})


def request_field_errors(errors: Iterable[Any]) -> list[FieldError]:
    """Errors of the framework's own parameter checks, whose locations start with the part of
    the request (``("header", "Idempotency-Key")``); clients know a parameter by its name."""
    return field_errors(
        {**error, "loc": error["loc"][1:]}
        if error["loc"] and error["loc"][0] in _REQUEST_PARTS
        else error
        for error in errors
    )


def parse_json(model: type[M], raw: bytes) -> M:
    """Validate ``raw`` JSON against ``model``; every problem becomes one ``FieldError``."""
    if not raw.strip():
        raise ValidationFailed(errors=[FieldError("body", "required", "a JSON body is required")])
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ValidationFailed(errors=field_errors(exc.errors())) from None


def parse_data(model: type[M], data: Any, prefix: Sequence[str] = ()) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(errors=field_errors(exc.errors(), prefix)) from None
