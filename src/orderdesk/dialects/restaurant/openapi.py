"""The restaurant dialect's part of the OpenAPI document: what the framework cannot see in the
routes.

Routes authenticate from headers they read themselves, take the OAuth form and the JSON bodies
by hand (after authentication), and build their own answers, so FastAPI's document would show
none of it. Client generators need all of it: the security schemes and each operation's scope
(read from the dependencies that enforce them), the token form, every parameter read by hand,
the headers, tags, the seed's examples and the webhooks. The application calls :func:`document`
with its whole document once, when it is first asked for.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from orderdesk.core.organizations.clients import ACCESS_TOKEN_TTL, SCOPES
from orderdesk.dialects.restaurant import responses as out
from orderdesk.dialects.restaurant import wire
from orderdesk.dialects.restaurant.auth import SCOPE_OF
from orderdesk.dialects.restaurant.responses import RESPONSES
from orderdesk.dialects.restaurant.routes import router
from orderdesk.http.body import schema_ref
from orderdesk.http.responses import document_responses

PREFIX = "/api"

API_KEY = "RestaurantApiKey"
CLIENT_ID = "RestaurantClientId"
CLIENT_SECRET = "RestaurantClientSecret"  # noqa: S105 (a scheme name, no secret)
OAUTH = "RestaurantOAuth2"
BEARER = "RestaurantBearer"

SCOPE_DESCRIPTIONS = {
    "write:orders": "Place, quote, confirm and close orders; validate addresses, list free "
    "times, preview coupons",
    "read:orders": "Read orders",
    "read:menu": "Read the menu and the locations",
    "write:menu": "Import a menu",
    "write:coupons": "Create one-off coupons from a generator",
}
assert set(SCOPE_DESCRIPTIONS) == set(SCOPES)

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "A restaurant API key; it carries every scope.",
    },
    CLIENT_ID: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Client-Id",
        "description": "An API client's id, always sent together with `X-Client-Secret`; the "
        "client has the scopes the restaurant gave it.",
    },
    CLIENT_SECRET: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Client-Secret",
        "description": "The API client's secret, always sent together with `X-Client-Id`.",
    },
    OAUTH: {
        "type": "oauth2",
        "description": "OAuth 2.0 client credentials: the API client's id and secret give a "
        "bearer token at `POST /api/oauth/token`.",
        "flows": {
            "clientCredentials": {
                "tokenUrl": f"{PREFIX}/oauth/token",
                "scopes": SCOPE_DESCRIPTIONS,
            }
        },
    },
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from `POST /api/oauth/token`, valid for "
        f"{int(ACCESS_TOKEN_TTL.total_seconds())} s, with the scopes it was issued for.",
    },
}


def security(scope: str) -> list[dict[str, list[str]]]:
    """The ways to call an operation needing ``scope``; any one of them is enough. Only the
    OAuth scheme can name the scope in OpenAPI; the description says it for the others."""
    return [{API_KEY: []}, {CLIENT_ID: [], CLIENT_SECRET: []}, {OAUTH: [scope]}, {BEARER: []}]


def _scope_note(scope: str) -> str:
    return (
        f"\n\nNeeds the scope `{scope}`: an API key has every scope, an API client or a bearer "
        "token the scopes it was given."
    )


AUTH = "Restaurant authentication"
ORDERING = "Restaurant ordering"
ORDERS = "Restaurant orders"
MENU = "Restaurant menu"
LOCATIONS = "Restaurant locations and coupons"
TAGS: list[dict[str, str]] = [
    {
        "name": AUTH,
        "description": "Restaurant API (xMenu-compatible, under `/api`): an API key "
        "(`X-Api-Key`), an API client (`X-Client-Id` + `X-Client-Secret`), or a bearer token "
        "from the OAuth 2.0 client-credentials endpoint. Failures are "
        '`{"success": false, "error": CODE, "message"}`, HTTP 401/403 for authentication and '
        "HTTP 200 for everything else.",
    },
    {
        "name": ORDERING,
        "description": "Restaurant API: validate the address, list the free pickup or delivery "
        "times, quote and place an order.",
    },
    {
        "name": ORDERS,
        "description": "Restaurant API: list and read orders, confirm them before their "
        "countdown runs out, close them.",
    },
    {
        "name": MENU,
        "description": "Restaurant API: the menu's categories and products with their options, "
        "and the import of a POS menu.",
    },
    {
        "name": LOCATIONS,
        "description": "Restaurant API: the restaurant's locations (sub-restaurants), coupon "
        "previews and one-off coupons.",
    },
]
TAG_OF = {
    "/oauth/token": AUTH,
    "/order/create": ORDERING,
    "/order/quote": ORDERING,
    "/order/validate_address": ORDERING,
    "/order/pickup_delivery_times": ORDERING,
    "/orders/list": ORDERS,
    "/orders/get": ORDERS,
    "/order/confirm": ORDERS,
    "/order/close": ORDERS,
    "/menu/categories": MENU,
    "/menu/category": MENU,
    "/menu/products": MENU,
    "/menu/product": MENU,
    "/menu/import": MENU,
    "/account/subrestaurants": LOCATIONS,
    "/coupon/apply": LOCATIONS,
    "/coupon/generate": LOCATIONS,
}

RESTUID = {
    "name": "restuid",
    "in": "query",
    "required": False,
    "description": "The restaurant the call is for; when given it must be the caller's own "
    "(another existing restaurant: `UNAUTHORIZED` 403, none: `RESTAURANT_NOT_FOUND` 401). Not "
    "needed: the credentials name the restaurant.",
    "schema": {"type": "string", "maxLength": 100},
}
RETRY_AFTER = {
    "description": "Seconds to wait before sending the request again; sent with "
    "`RATE_LIMIT_EXCEEDED`, and with `INTERNAL_ERROR` when the service is briefly unavailable "
    "(nothing was changed).",
    "schema": {"type": "integer", "minimum": 1},
}
REPLAYED = {
    "description": "Present (`true`) when this is the stored answer to an earlier request with "
    "the same `Idempotency-Key` and body; no second order was created.",
    "schema": {"type": "string", "enum": ["true"]},
}
IDEMPOTENCY_KEY = (
    "Any unique string (a UUID) chosen by the client per order: a retry with the same key and "
    "body within 24 h answers the first result again instead of creating a second order; the "
    "same key with another body is a 422, and while the first is still being processed a 409."
)

# The request of the original order-create page (seeds/004), its placeholders ("<string>", 123)
# given values the API accepts; dates as the page has them.
SEED_CREATE = {
    "client": {
        "first_name": "Mario",
        "last_name": "Rossi",
        "email": "mario.rossi@example.com",
        "phone": "+39 333 1234567",
    },
    "dmethod": "0",
    "payment_method": "cash",
    "details": [
        {
            "product": {"uid": "margherita"},
            "quantity": 1,
            "notes": "",
            "options": [{"uid": "formato", "values": [{"uid": "maxi", "quantity": 1}]}],
        }
    ],
    "subrestaurant_uid": "centro",
    "language": "it",
    "pickup": {"date": "2023-11-07T05:31:56Z"},
    "payment_method_sub": "contanti",
    "coupon": {},
    "notes": "",
    "creator": "customer",
}
# Its answer, without the page's "error" and "message", which a success does not carry.
SEED_CREATED = {
    "success": True,
    "order": {
        "uid": "3f2a9c1e5b7d4a8e9c0f1a2b3c4d5e6f",
        "token": "q8Vd0cXl3n9YbVt2kR7pWm5sJ1hA4eZu6oGf",
        "order_number": "123",
        "total": 123,
        "date": "2023-11-07T05:31:56Z",
        "confirmed": True,
        "delivery_fee": 123,
        "pickup_date": "2023-11-07T05:31:56Z",
        "delivery_date": None,
    },
}
SEED_TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": "my-client-id",
    "client_secret": "my-client-secret",
    "scope": "write:orders read:orders",
}


def _scopes() -> dict[tuple[str, str], str]:
    """Each operation's scope, from the authenticating dependency each route depends on."""
    found = {}
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        for dependency in route.dependant.dependencies:
            scope = SCOPE_OF.get(dependency.call) if dependency.call else None
            if scope is not None:
                for method in route.methods or ():
                    found[(method.lower(), f"{PREFIX}{route.path}")] = scope
    return found


def _examples(content: dict[str, Any] | None, examples: dict[str, dict[str, Any]]) -> None:
    if content is not None:
        content.setdefault("examples", {}).update(examples)


def _webhook() -> dict[str, Any]:
    payload = {
        "oneOf": [
            {"$ref": schema_ref(out.OrderEvent, mode="serialization")},
            {"$ref": schema_ref(out.CountdownEvent, mode="serialization")},
        ]
    }
    return {
        "post": {
            "summary": "An order of the restaurant was placed or changed",
            "description": "Sent to every subscriber declared for the restaurant: `order.new`, "
            "`order.countdown_started`, `order.timeout`, `order.confirmed`, `order.closed`; at "
            "least once, in order per order, retried with backoff for 24 h. "
            "`X-Xmenu-Signature` is the hex HMAC-SHA256 of the raw body keyed with the "
            "restaurant's webhook secret; `X-Orderdesk-Event` is one id per event, for "
            "de-duplication.",
            "tags": [ORDERS],
            "parameters": [
                {
                    "name": "X-Xmenu-Signature",
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
            "requestBody": {"required": True, "content": {"application/json": {"schema": payload}}},
            "responses": {"200": {"description": "Any 2xx answer acknowledges the event"}},
        }
    }


def document(schema: dict[str, Any]) -> None:
    """Amend ``schema``, the application's whole document, for this dialect's operations."""
    document_responses(schema, PREFIX, RESPONSES)
    scopes = _scopes()
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(f"{PREFIX}/"):
            continue
        for method, operation in item.items():
            tag = TAG_OF.get(path.removeprefix(PREFIX))
            if tag is not None:
                operation["tags"] = [tag]
            scope = scopes.get((method, path))
            operation["security"] = security(scope) if scope else []
            operation["operationId"] = "restaurant_" + path.removeprefix(f"{PREFIX}/").replace(
                "/", "_"
            )
            if scope:
                operation["description"] = operation.get("description", "") + _scope_note(scope)
            parameters = operation.setdefault("parameters", [])
            if scope and not any(p.get("name") == "restuid" for p in parameters):
                parameters.append(dict(RESTUID))
            for parameter in parameters:
                if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                    parameter["description"] = IDEMPOTENCY_KEY
            if not parameters:
                del operation["parameters"]
            responses = operation.get("responses", {})
            if "200" in responses:
                responses["200"].setdefault("headers", {})["Retry-After"] = RETRY_AFTER
            if path == f"{PREFIX}/order/create" and method == "post":
                responses["200"]["headers"]["Idempotent-Replayed"] = REPLAYED
                _examples(
                    responses["200"].get("content", {}).get("application/json"),
                    {"seed": {"summary": "The original order-create page", "value": SEED_CREATED}},
                )
            if path in (f"{PREFIX}/order/create", f"{PREFIX}/order/quote") and method == "post":
                body = operation.get("requestBody", {}).get("content", {})
                _examples(
                    body.get("application/json"),
                    {"seed": {"summary": "The original order-create page", "value": SEED_CREATE}},
                )
            if path == f"{PREFIX}/oauth/token" and method == "post":
                operation["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {"$ref": schema_ref(wire.TokenRequestIn)},
                            "examples": {
                                "client": {
                                    "summary": "Client credentials with two scopes",
                                    "value": SEED_TOKEN_FORM,
                                }
                            },
                        }
                    },
                }

    tags = schema.setdefault("tags", [])
    known = {tag["name"] for tag in tags}
    tags.extend(tag for tag in TAGS if tag["name"] not in known)
    schema.setdefault("webhooks", {})["restaurantOrderEvent"] = _webhook()
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.update(SECURITY_SCHEMES)
