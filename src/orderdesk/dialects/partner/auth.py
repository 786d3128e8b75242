"""Who a partner request acts for: the ``token`` header, resolved before anything else.

The header is read through FastAPI's ``APIKeyHeader`` so that the OpenAPI document declares it as
a security scheme (client generators and the docs' Authorize dialog then send it) instead of an
optional parameter of every operation. ``auto_error`` is off: a missing token is answered like a
wrong one, in this dialect's own 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from orderdesk.core.organizations.service import Principal, resolve_token
from orderdesk.dialects.partner.errors import Challenge
from orderdesk.http.state import State

SCHEME = "PartnerToken"
TOKEN = APIKeyHeader(
    name="token",
    scheme_name=SCHEME,
    description="The token from `POST /partner/auth/authorize`, in the header named `token`.",
    auto_error=False,
)
Token = Annotated[str | None, Depends(TOKEN)]


# What the WWW-Authenticate header of a refused token says. Unknown, expired and revoked
# tokens share one description: the difference would only help someone holding a stolen one.
REFUSED_DESCRIPTION = "the token is unknown, expired or revoked; log in again"
BEARER_SENT = "the token goes in the header named token, not in Authorization: Bearer"


async def current_partner(request: Request, state: State, token: Token) -> Principal:
    if not token:
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            # OAuth-minded clients send "Authorization: Bearer"; say where the token belongs.
            raise Challenge("invalid_request", BEARER_SENT)
        raise Challenge()
    async with state.reads() as session:
        principal = await resolve_token(session, token, now=state.now())
    if principal is None or principal.organization_kind != "partner":
        raise Challenge("invalid_token", REFUSED_DESCRIPTION)
    return principal


Partner = Annotated[Principal, Depends(current_partner)]
