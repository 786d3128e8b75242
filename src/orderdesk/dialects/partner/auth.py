"""Who a partner request acts for: the ``token`` header, resolved before anything else."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from orderdesk.core.errors import Unauthorized
from orderdesk.core.organizations.service import Principal, resolve_token
from orderdesk.http.state import State


async def current_partner(
    state: State, token: Annotated[str | None, Header(alias="token")] = None
) -> Principal:
    if not token:
        raise Unauthorized("Unauthorized")
    async with state.reads() as session:
        principal = await resolve_token(session, token, now=state.now())
    if principal is None or principal.organization_kind != "partner":
        raise Unauthorized("Unauthorized")
    return principal


Partner = Annotated[Principal, Depends(current_partner)]
