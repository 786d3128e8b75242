"""What every request handler can reach, built once at start-up in the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orderdesk.core.attachments.storage import ImageStorage
from orderdesk.core.fulfilment.geocoder import HttpGeocoder
from orderdesk.db.base import utcnow
from orderdesk.db.cache import ConfigCache
from orderdesk.db.engine import transaction
from orderdesk.settings import Settings

if TYPE_CHECKING:
    from orderdesk.http.ratelimit import RateLimiter

Clock = Callable[[], datetime]


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: ImageStorage
    clock: Clock = utcnow
    geocoder: HttpGeocoder | None = None  # set when ORDERDESK_GEOCODER_URL is configured
    rate_limiter: RateLimiter | None = None  # None when ORDERDESK_RATE_LIMIT_ENABLED is false
    # Configuration rows read by requests (live only on PostgreSQL, see orderdesk.db.cache).
    config_cache: ConfigCache = field(default_factory=ConfigCache)
    # Sessions for requests that only read (see reads); None: the ordinary sessions.
    read_sessions: async_sessionmaker[AsyncSession] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work, committed when the block ends normally.

        Handlers open it themselves and build their response inside it, so the commit always
        happens *before* the client is told that anything was accepted.
        """
        async with transaction(self.sessions) as session:
            yield session

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncSession]:
        """A session for a request that only reads.

        On SQLite it begins without taking the write lock. On PostgreSQL its statements run in
        autocommit: no ``BEGIN`` before the first and no ``ROLLBACK`` after the last, two round
        trips fewer for a one-query request. Each
        statement then sees the data committed when it starts, rather than all of them one
        snapshot; every read here is of rows that are immutable once written (order lines,
        images) or of a single row set at once, so no answer can mix two states. Nothing
        written in it is kept: it is never committed, and it must not be used to write.
        """
        async with (self.read_sessions or self.sessions)() as session:
            yield session

    def now(self) -> datetime:
        return self.clock()


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.orderdesk
    return state


async def _state_dependency(request: Request) -> AppState:
    # A coroutine on purpose: FastAPI runs a plain function dependency in its thread pool, and
    # handing every request to a thread and back cost more than the rest of its dependencies.
    return get_state(request)


State = Annotated[AppState, Depends(_state_dependency)]
