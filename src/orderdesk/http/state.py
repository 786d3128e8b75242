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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work, committed when the block ends normally.

        Handlers open it themselves and build their response inside it, so the commit always
        happens *before* the client is told that anything was accepted.
        """
        async with self.sessions() as session, session.begin():
            yield session

    def now(self) -> datetime:
        return self.clock()


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.orderdesk
    return state


State = Annotated[AppState, Depends(get_state)]
