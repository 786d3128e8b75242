"""Who a partner request acts for: the ``token`` header, resolved before anything else.

The header is read through FastAPI's ``APIKeyHeader`` so that the OpenAPI document declares it as
a security scheme (client generators and the docs' Authorize dialog then send it) instead of an
optional parameter of every operation. ``auto_error`` is off: a missing token is answered like a
wrong one, in this dialect's own 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader

from orderdesk.core.errors import Unauthorized
from orderdesk.core.organizations.service import Principal, resolve_token
from orderdesk.http.state import State

SCHEME = "PartnerToken"
TOKEN = APIKeyHeader(
    name="token",
    scheme_name=SCHEME,
    description="The token from `POST /partner/auth/authorize`, in the header named `token`.",
    auto_error=False,
)
Token = Annotated[str | None, Depends(TOKEN)]


async def current_partner(state: State, token: Token) -> Principal:
    if not token:
        raise Unauthorized("Unauthorized")
    async with state.reads() as session:
        principal = await resolve_token(session, token, now=state.now())
    if principal is None or principal.organization_kind != "partner":
        raise Unauthorized("Unauthorized")
    return principal


Partner = Annotated[Principal, Depends(current_partner)]
