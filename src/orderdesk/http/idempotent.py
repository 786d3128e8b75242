"""Create-once handling of ``Idempotency-Key``, shared by every dialect's create endpoints.

The dialect supplies a ``create`` callback that does the work in the given session and returns
the JSON body of its success response. Without a key the callback simply runs; with one, the
first success is stored in the same transaction and replayed for later requests with the same
key and body (see :mod:`orderdesk.core.idempotency.service` for in-progress and mismatch).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.idempotency import service as idempotency
from orderdesk.http.state import AppState

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
Create = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


async def create_once(
    state: AppState, *, scope: str, key: str | None, raw: bytes, create: Create
) -> JSONResponse:
    """Run ``create`` in one transaction, at most once per ``(scope, key)``; commit, then answer."""
    async with state.transaction() as session:
        if key is None:
            body = await create(session)
        else:
            async with idempotency.keyed_request(
                session,
                scope=scope,
                key=key,
                request_hash=idempotency.fingerprint(json.loads(raw)),
                now=state.now(),
                ttl=timedelta(hours=state.settings.idempotency_ttl_hours),
            ) as keyed:
                if keyed.replay is not None:
                    status, stored = keyed.replay
                    return JSONResponse(
                        stored, status_code=status, headers={"Idempotent-Replayed": "true"}
                    )
                body = await create(session)
                await keyed.store(200, body)
    return JSONResponse(body)
