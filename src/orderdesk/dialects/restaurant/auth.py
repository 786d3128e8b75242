"""Who a restaurant request acts for, checked before the body is read.

Three ways, as the original API: ``X-Api-Key`` (every scope), ``X-Client-Id`` +
``X-Client-Secret`` (the client's scopes), or ``Authorization: Bearer`` from the OAuth
client-credentials endpoint (the token's scopes). A ``restuid`` query parameter, when given,
must name the caller's own restaurant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from orderdesk.core.organizations import clients
from orderdesk.core.organizations.clients import RestaurantCaller
from orderdesk.core.organizations.service import organization_exists
from orderdesk.dialects.restaurant.errors import WireError
from orderdesk.http.state import AppState, get_state


async def _authenticate(request: Request, state: AppState) -> RestaurantCaller:
    headers = request.headers
    async with state.reads() as session:
        if "x-api-key" in headers:
            caller = await clients.caller_for_api_key(session, headers["x-api-key"])
            if caller is None:
                raise WireError("INVALID_KEY", "invalid API key", 401)
        elif headers.get("authorization", "").lower().startswith("bearer "):
            token = headers["authorization"][7:].strip()
            caller = await clients.caller_for_bearer(session, token, now=state.now())
            if caller is None:
                raise WireError("INVALID_AUTH", "invalid or expired bearer token", 401)
        elif "x-client-id" in headers or "x-client-secret" in headers:
            caller = await clients.caller_for_client(
                session, headers.get("x-client-id", ""), headers.get("x-client-secret", "")
            )
            if caller is None:
                raise WireError("INVALID_AUTH", "invalid client id or secret", 401)
        else:
            raise WireError(
                "INVALID_AUTH",
                "send X-Api-Key, X-Client-Id and X-Client-Secret, or Authorization: Bearer",
                401,
            )
        restuid = request.query_params.get("restuid")
        if restuid and restuid != caller.organization_key:
            if not await organization_exists(session, kind="restaurant", key=restuid):
                raise WireError("RESTAURANT_NOT_FOUND", f"restuid: no restaurant {restuid!r}", 401)
            raise WireError("UNAUTHORIZED", "restuid: another restaurant's data", 403)
    if caller.organization_settings.get("api_enabled") is False:
        raise WireError("API_DISABLED", "the API is disabled for this restaurant", 403)
    return caller


# The scope each authenticating dependency checks, so that the OpenAPI document lists every
# operation's scope from the code that enforces it (see openapi.py).
SCOPE_OF: dict[Callable[..., object], str] = {}


def requires(scope: str) -> Callable[[Request], Awaitable[RestaurantCaller]]:
    """A dependency that authenticates and checks ``scope``."""

    async def dependency(request: Request) -> RestaurantCaller:
        caller = await _authenticate(request, get_state(request))
        if scope not in caller.scopes:
            raise WireError("INSUFFICIENT_SCOPE", f"this endpoint needs the scope {scope}", 403)
        return caller

    SCOPE_OF[dependency] = scope
    return dependency


WriteOrders = Annotated[RestaurantCaller, Depends(requires("write:orders"))]
ReadOrders = Annotated[RestaurantCaller, Depends(requires("read:orders"))]
ReadMenu = Annotated[RestaurantCaller, Depends(requires("read:menu"))]
WriteMenu = Annotated[RestaurantCaller, Depends(requires("write:menu"))]
WriteCoupons = Annotated[RestaurantCaller, Depends(requires("write:coupons"))]
