"""Replaying the first response to a retried request.

The record is written in the *same* transaction as the order it describes, so a crash before the
commit leaves neither, and the client's retry simply runs again. While a keyed request is being
processed, a second one with the same key is told so (``IdempotencyInProgress``, a 409) instead of
waiting: PostgreSQL holds a transaction-level advisory lock on the key until commit, visible to
every worker process; a process-local set does the same for the embedded SQLite setup.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.errors import IdempotencyInProgress, IdempotencyMismatch
from orderdesk.core.idempotency.models import IdempotencyRecord
from orderdesk.db.upsert import is_postgres

MAX_KEY_LENGTH = 255
_in_flight: set[tuple[str, str]] = set()


def fingerprint(body: Any) -> str:
    """A hash of the request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class KeyedRequest:
    """What a handler needs to honour an ``Idempotency-Key``."""

    scope: str
    key: str
    request_hash: str
    replay: tuple[int, dict[str, Any]] | None = None
    _session: AsyncSession | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    async def store(self, status_code: int, response: dict[str, Any]) -> None:
        """Record the response in the caller's transaction (kept only if that commits)."""
        assert self._session is not None and self._now is not None
        await self._session.execute(
            _INSERT_RECORD,
            {
                "scope": self.scope,
                "key": self.key,
                "request_hash": self.request_hash,
                "status_code": status_code,
                "response": response,
                "created_at": self._now,
            },
        )


# A plain INSERT: the record is never read back in the request that writes it.
_INSERT_RECORD = insert(cast(Table, IdempotencyRecord.__table__))


def _lock_id(scope: str, key: str) -> int:
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@asynccontextmanager
async def keyed_request(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    request_hash: str,
    now: datetime,
    ttl: timedelta,
) -> AsyncIterator[KeyedRequest]:
    """Claim ``key`` for the duration of the block; ``.replay`` is set when it was already done.

    Raises ``IdempotencyInProgress`` when another request holds the key and
    ``IdempotencyMismatch`` when the stored request had a different body.
    """
    claim = (scope, key)
    if claim in _in_flight:
        raise IdempotencyInProgress("a request with this Idempotency-Key is in progress")
    _in_flight.add(claim)
    try:
        if is_postgres(session):
            got = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _lock_id(scope, key)}
            )
            if not got:
                raise IdempotencyInProgress("a request with this Idempotency-Key is in progress")
        record = await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
        keyed = KeyedRequest(scope, key, request_hash, _session=session, _now=now)
        if record is not None and record.created_at <= now - ttl:
            await session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id)
            )
            record = None
        if record is not None:
            if record.request_hash != request_hash:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was already used with a different request body"
                )
            keyed.replay = (record.status_code, record.response)
        yield keyed
    finally:
        _in_flight.discard(claim)


async def purge_expired(session: AsyncSession, *, now: datetime, ttl: timedelta) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= now - ttl)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
