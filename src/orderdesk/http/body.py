"""Request bodies read by hand, after authentication, with a size cap.

Dialects authenticate before they look at a body (an unauthenticated request with a bad body is
a 401, not a 422), so handlers take the raw request and validate here instead of letting the
framework parse the body first. The JSON schema still reaches the OpenAPI document through
:func:`documented_body`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from orderdesk.core.errors import BodyTooLarge

M = TypeVar("M", bound=BaseModel)
_schemas: dict[str, dict[str, Any]] = {}


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def schema_ref(model: type[BaseModel], *, mode: JsonSchemaMode = "validation") -> str:
    """Register ``model`` (and the models it nests) as OpenAPI components; return its ``$ref``.

    Schema names are prefixed with the dialect (``partner.CreateOrderIn`` becomes
    ``PartnerCreateOrderIn``) because both dialects have models of the same name.
    """
    prefix = model.__module__.split(".")[-2].title()
    schema = model.model_json_schema(
        ref_template=f"#/components/schemas/{prefix}{{model}}", mode=mode
    )
    for name, definition in schema.pop("$defs", {}).items():
        _schemas[f"{prefix}{name}"] = definition
    _schemas[f"{prefix}{model.__name__}"] = schema
    return f"#/components/schemas/{prefix}{model.__name__}"


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents ``model`` as the JSON request body."""
    ref = schema_ref(model)
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": ref}}},
        }
    }


def extra_schemas() -> dict[str, dict[str, Any]]:
    return dict(_schemas)
