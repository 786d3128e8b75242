"""The partner dialect's part of the OpenAPI document: what the framework cannot see in the routes.

Routes build their own responses and read some inputs by hand (the body after authentication,
the order-list filter from the raw query), so FastAPI's document would show neither; client
generators need both, and headers, tags and webhooks besides. The application calls
:func:`document` with its whole document once, when it is first asked for.
"""

from __future__ import annotations

from typing import Any, get_args

from orderdesk.dialects.partner import wire
from orderdesk.dialects.partner.auth import SCHEME
from orderdesk.dialects.partner.responses import RESPONSES
from orderdesk.http.body import schema_ref
from orderdesk.http.responses import document_responses

PREFIX = "/partner"

AUTH = "Partner authentication"
CATALOG = "Partner catalog"
IMAGES = "Partner images"
ORDERS = "Partner orders"
TAGS: list[dict[str, str]] = [
    {
        "name": AUTH,
        "description": "Partner API (AnyMaster-compatible, under `/partner`): log in for a token "
        "sent in the `token` header of every other call, and revoke it.",
    },
    {
        "name": CATALOG,
        "description": "Partner API: the stores of the partner, the items that can be ordered "
        "with their delivery and assembly services, and the free master slots of a store.",
    },
    {
        "name": IMAGES,
        "description": "Partner API: receipt images, uploaded before the order that names them.",
    },
    {
        "name": ORDERS,
        "description": "Partner API: create orders (a master is booked when the goods are in "
        "stock), quote them, list, read, mark in stock, move and cancel them.",
    },
]

FILTER_EXAMPLE = '{"query": "Ozola", "store_ids": ["nordhaus-riga"], "filter": ["open"]}'
STATUS_NAMES = [*get_args(wire.Status), *get_args(wire.Substatus)]


def filter_parameters() -> list[dict[str, Any]]:
    """The order list's filter in both of its encodings, as query parameters."""
    return [
        {
            "name": "filter",
            "in": "query",
            "required": False,
            "description": "The whole filter as one JSON object: `query` (words of the title, "
            "customer name or phone), `store_ids` (stores) and `filter` (statuses or "
            "substatuses, any of which matches). Or give its parts in bracket form, the "
            "parameters below.",
            "schema": {"type": "string"},
            "example": FILTER_EXAMPLE,
        },
        {
            "name": "filter[query]",
            "in": "query",
            "required": False,
            "description": "Words of the title, the customer's name or phone.",
            "schema": {"type": "string", "maxLength": 200},
        },
        {
            "name": "filter[store_ids][]",
            "in": "query",
            "required": False,
            "description": "Only orders of these stores (repeat the parameter for each).",
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
        },
        {
            "name": "filter[filter][]",
            "in": "query",
            "required": False,
            "description": "Only orders in one of these statuses or substatuses (repeat the "
            "parameter for each).",
            "style": "form",
            "explode": True,
            "schema": {
                "type": "array",
                "items": {"type": "string", "enum": list(dict.fromkeys(STATUS_NAMES))},
                "maxItems": 30,
            },
        },
    ]


RETRY_AFTER = {
    "description": "Seconds to wait before sending the request again.",
    "schema": {"type": "integer", "minimum": 1},
}
WWW_AUTHENTICATE = {
    "description": "What to fix, in the style of RFC 6750 (the body is always `Unauthorized`): "
    '`Token realm="partner"` alone when no `token` header was sent; `error="invalid_token"` '
    'for a token that is unknown, expired or revoked; `error="invalid_request"` when the '
    'token came as `Authorization: Bearer`; `error="invalid_grant"` for a wrong login or '
    "password. `error_description` says it in words.",
    "schema": {"type": "string"},
}
REPLAYED = {
    "description": "Present (`true`) when this is the stored answer to an earlier request with "
    "the same `Idempotency-Key` and body; no second order was created.",
    "schema": {"type": "string", "enum": ["true"]},
}
IDEMPOTENCY_KEY = (
    "Any unique string (a UUID) chosen by the client per order: a retry with the same key and "
    "body within 24 h answers the first result again instead of creating a second order; the "
    "same key with another body is a 422 on `Idempotency-Key`."
)

# The success example of the original create-order page, with real statuses in place of its
# placeholders ("order-status", "order-substatus"), which the enums would refuse.
SEED_CREATED = {
    "status": "ok",
    "statusCode": 200,
    "data": {
        "_id": 0,
        "title": "your-order-title",
        "_status": "open",
        "_substatus": "awaiting_master_request",
        "partner": "partner-name",
        "partner_details": {
            "instock": True,
            "store_id": "your-store-id",
            "store_title": "your-store-title",
        },
        "created_at": "2024-01-22T13:31:07.908Z",
    },
}
# The examples of the public pages (free master slots, 401).
SEED_FREE_SLOTS = {
    "status": "ok",
    "statusCode": 200,
    "data": {"2024-02-14": {"0712": True, "1217": False, "1721": False}},
}
SEED_UNAUTHORIZED = {
    "name": "UnAuthorizedError",
    "message": "Unauthorized",
    "code": 401,
    "type": "NO_RIGHTS",
    "statusCode": 401,
    "status": "error",
    "data": None,
}


def _example(response: dict[str, Any], name: str, summary: str, value: Any) -> None:
    content = response.get("content", {}).get("application/json")
    if content is not None:
        content.setdefault("examples", {})[name] = {"summary": summary, "value": value}


def _webhook() -> dict[str, Any]:
    return {
        "post": {
            "summary": "An order of the partner was created or changed status",
            "description": "Sent to every subscriber declared for the partner in the setup "
            "document, at least once, in order per order, retried with backoff for 24 h. "
            "`X-Orderdesk-Signature` is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "
            '"<t>.<raw body>" keyed with the subscriber\'s secret>`; reject signatures older '
            "than 5 minutes. `X-Orderdesk-Event` is one id per event, for de-duplication.",
            "tags": [ORDERS],
            "parameters": [
                {
                    "name": "X-Orderdesk-Signature",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {
                    "name": "X-Orderdesk-Event",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": schema_ref(wire.Event, mode="serialization")}
                    }
                },
            },
            "responses": {"200": {"description": "Any 2xx answer acknowledges the event"}},
        }
    }


def document(schema: dict[str, Any]) -> None:
    """Amend ``schema``, the application's whole document, for this dialect's operations."""
    document_responses(schema, PREFIX, RESPONSES)
    operations = [
        (path, method, operation)
        for path, item in schema.get("paths", {}).items()
        if path.startswith(f"{PREFIX}/")
        for method, operation in item.items()
    ]
    for path, method, operation in operations:
        responses = operation.get("responses", {})
        for status in ("429", "503"):
            if status in responses:
                responses[status].setdefault("headers", {})["Retry-After"] = RETRY_AFTER
        if "401" in responses:
            responses["401"].setdefault("headers", {})["WWW-Authenticate"] = WWW_AUTHENTICATE
            _example(responses["401"], "unauthorized", "No valid token", SEED_UNAUTHORIZED)
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                parameter["description"] = IDEMPOTENCY_KEY
        if (method, path) == ("post", f"{PREFIX}/order/create"):
            responses["200"].setdefault("headers", {})["Idempotent-Replayed"] = REPLAYED
            _example(responses["200"], "seed", "The original create-order page", SEED_CREATED)
        if (method, path) == ("get", f"{PREFIX}/slots/free"):
            _example(responses["200"], "seed", "The original free slots page", SEED_FREE_SLOTS)

    tags = schema.setdefault("tags", [])
    known = {tag["name"] for tag in tags}
    tags.extend(tag for tag in TAGS if tag["name"] not in known)
    schema.setdefault("webhooks", {})["partnerOrderEvent"] = _webhook()
    # FastAPI declares the scheme from auth.TOKEN as soon as an operation uses it; this keeps
    # the declaration when none is documented (a document built from some routes only).
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(SCHEME, {"type": "apiKey", "in": "header", "name": "token"})
