"""Response bodies in the OpenAPI document.

The dialects build their ``JSONResponse`` objects themselves (their envelopes and error shapes are
not FastAPI's), so the framework cannot see what an endpoint answers. Each dialect therefore
lists its answers in its ``responses.py`` as pydantic models of the exact wire shapes, keyed by
``(method, path)`` relative to its router and then by HTTP status; :func:`document_responses`
writes them into the document, replacing FastAPI's guesses (an empty 200 and its own 422 shape,
which neither dialect sends). The models are documentation only: the fuzz tests check every
response the server gives against them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel

from orderdesk.http.body import schema_ref


@dataclass(frozen=True, slots=True)
class OneOf:
    """Exactly one of several shapes under one status (a restaurant 200 is success or failure)."""

    models: tuple[type[BaseModel], ...]
    description: str


@dataclass(frozen=True, slots=True)
class Binary:
    """A body that is not JSON, such as an image."""

    media_type: str
    description: str


Documented = type[BaseModel] | OneOf | Binary
ResponseMap = Mapping[tuple[str, str], Mapping[int, Documented]]


def _description(model: type[BaseModel], status: int) -> str:
    first_paragraph = (model.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(first_paragraph.split()) or HTTPStatus(status).phrase


def response_object(status: int, documented: Documented) -> dict[str, Any]:
    """The OpenAPI Response Object for one status; registers the models as components."""
    if isinstance(documented, Binary):
        return {
            "description": documented.description,
            "content": {documented.media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    if isinstance(documented, OneOf):
        schema: dict[str, Any] = {
            "oneOf": [{"$ref": schema_ref(m, mode="serialization")} for m in documented.models]
        }
        description = documented.description
    else:
        schema = {"$ref": schema_ref(documented, mode="serialization")}
        description = _description(documented, status)
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document_responses(document: dict[str, Any], prefix: str, responses: ResponseMap) -> None:
    """Replace the responses of every listed operation under ``prefix`` in ``document``.

    Operations the document does not have (a router mounted without its schema) are skipped;
    ``tests/test_openapi.py`` checks that every dialect operation is listed and vice versa.
    """
    paths = document.get("paths", {})
    for (method, path), by_status in responses.items():
        operation = paths.get(f"{prefix}{path}", {}).get(method.lower())
        if operation is None:
            continue
        operation["responses"] = {
            str(status): response_object(status, documented)
            for status, documented in sorted(by_status.items())
        }


# FastAPI's own 422 shape, which neither dialect sends.
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def drop_unreferenced(document: dict[str, Any], names: tuple[str, ...]) -> None:
    """Remove the named component schemas that nothing in ``document`` refers to any more."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in names:
        if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps(document):
            del schemas[name]
