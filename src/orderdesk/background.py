"""Work that happens without a request: webhook delivery, countdown timeouts, clean-up.

Every ``serve`` worker process runs these loops (and ``orderdesk worker`` runs them alone, for
deployments that separate the two). All of them are safe to run in several processes at once:
they claim rows with ``SKIP LOCKED`` or advisory locks, or are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderdesk.core.events.dispatcher import Dispatcher
from orderdesk.core.events.health import disable_failing
from orderdesk.core.idempotency.service import purge_expired
from orderdesk.core.operators.service import forget_expired_sessions
from orderdesk.core.orders.confirmation import expire_due
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction
from orderdesk.db.migrate import migrate

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class Background:
    """The loops of one process; ``start`` them with the app, ``stop`` them before shutdown."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        idempotency_ttl: timedelta = timedelta(hours=24),
        poll_interval: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.idempotency_ttl = idempotency_ttl
        self.poll_interval = poll_interval
        self.dispatcher = Dispatcher(sessions, clock=clock, poll_interval=poll_interval)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def expire_countdowns(self) -> int:
        async with transaction(self.sessions) as session:
            return await expire_due(session, now=self.clock())

    async def purge(self) -> int:
        """Forget what has expired: idempotency records past their TTL and console sessions
        past their end (neither can be used again; both would only grow)."""
        now = self.clock()
        async with transaction(self.sessions) as session:
            records = await purge_expired(session, now=now, ttl=self.idempotency_ttl)
            return records + await forget_expired_sessions(session, now=now)

    async def disable_failing_subscriptions(self) -> int:
        """How many subscriptions this step disabled (each is logged); a hook for metrics."""
        async with transaction(self.sessions) as session:
            return len(await disable_failing(session, now=self.clock()))

    async def _every(self, seconds: float, step: Callable[[], Awaitable[int]]) -> None:
        while not self._stop.is_set():
            try:
                await step()
            except Exception:
                log.exception("background step %s failed; retrying", step.__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(self._stop), name="webhooks"),
            asyncio.create_task(
                self._every(self.poll_interval, self.expire_countdowns), name="countdowns"
            ),
            asyncio.create_task(self._every(3600, self.purge), name="purge"),
            asyncio.create_task(
                self._every(300, self.disable_failing_subscriptions), name="webhook-health"
            ),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.dispatcher.aclose()


async def run_worker(database_url: str, stop: asyncio.Event) -> None:
    """``orderdesk worker``: the background loops without an HTTP server, until ``stop``."""
    from orderdesk.db.base import utcnow
    from orderdesk.dialects.base import installed, register_event_renderers

    register_event_renderers(installed())
    engine = create_engine(database_url, pool_size=5)
    try:
        await migrate(engine)
        background = Background(create_sessionmaker(engine), utcnow)
        background.start()
        await stop.wait()
        await background.stop()
    finally:
        await engine.dispose()
