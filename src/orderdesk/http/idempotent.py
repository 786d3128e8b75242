"""Create-once handling of ``Idempotency-Key``, shared by every dialect's create endpoints.

The dialect supplies a ``create`` callback that does the work in the given session and returns
its success answer as a wire model. Without a key the callback simply runs and the model is sent
as it serializes (the busiest path: no dict in between); with one, the first success is stored as
plain JSON values in the same transaction and replayed for later requests with the same key and
body (see :mod:`orderdesk.core.idempotency.service` for in-progress and mismatch).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from orderdesk import metrics
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.idempotency import service as idempotency
from orderdesk.http.state import AppState

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
Create = Callable[[AsyncSession], Awaitable[BaseModel]]


def send_model(answer: BaseModel) -> Response:
    """The answer as its model serializes it: pydantic-core writes the JSON bytes in one call,
    faster than the standard library encodes the equivalent dict, and exactly what the OpenAPI
    document describes (the same model)."""
    return Response(answer.__pydantic_serializer__.to_json(answer), media_type="application/json")


async def create_once(
    state: AppState, *, scope: str, key: str | None, raw: bytes, create: Create
) -> Response:
    """Run ``create`` in one transaction, at most once per ``(scope, key)``; commit, then answer.

    ``scope`` starts with the dialect's name (``partner:7``), under which the order is counted.
    """
    dialect = scope.partition(":")[0]
    try:
        answer = await _create_once(state, scope=scope, key=key, raw=raw, create=create)
    except ValidationFailed as refused:
        metrics.creation_refused(dialect, refused.errors)
        raise
    if isinstance(answer, Response):
        return answer  # a replay: counted when it was first created
    metrics.order_created(dialect)
    return send_model(answer)


async def _create_once(
    state: AppState, *, scope: str, key: str | None, raw: bytes, create: Create
) -> BaseModel | Response:
    async with state.transaction() as session:
        if key is None:
            answer = await create(session)
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
                    status, first = keyed.replay
                    return JSONResponse(
                        first, status_code=status, headers={"Idempotent-Replayed": "true"}
                    )
                answer = await create(session)
                values: dict[str, Any] = answer.__pydantic_serializer__.to_python(
                    answer, mode="json"
                )
                await keyed.store(200, values)
    return answer
