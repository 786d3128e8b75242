"""Request budgets per client IP and per API credential, spent before anyone is authenticated.

Every request to a dialect costs one unit of two budgets: its IP address's and, when it carries
one, its credential's (``token``, ``X-Api-Key``, ``Authorization: Bearer`` or ``X-Client-Id``,
in the order the dialects' authentication reads them). The check runs before authentication, so
a flood of wrong credentials is throttled like any other flood instead of costing a database
lookup per request; the IP budget is spent first, so a client cycling through random tokens is
still held by its address. Budgets are kept per dialect (the first path segment is in the key):
a partner integration and a restaurant till behind one NAT do not starve each other.

**Moving window.** ``limits`` offers fixed windows (allow twice the limit across a window
boundary), sliding-window counters (an approximation from two counters: O(1) memory, but the
count and the reset time are estimates) and the moving window (one timestamp per admitted
request, exact). Budgets here are hundreds a minute, so keeping up to that many timestamps per
active key is cheap, and exactness buys two things clients see: never more than the limit in any
60 seconds, and a ``Retry-After`` that is the moment the oldest admitted request leaves the
window, so a client that waits that long is admitted. Refused requests leave no timestamp, so
a throttled client that keeps knocking does not push its own reset further away.

**Storage.** ``memory://`` (the default) counts inside one process: right for SQLite and for a
single worker. With ``serve --workers N`` each process would grant the full budget, so several
workers point ``ORDERDESK_RATE_LIMIT_STORAGE`` at Redis and share one budget (``limits`` runs
the moving window there as one Lua script per hit, atomic across processes).

**Fail open.** If the storage cannot be reached, requests are admitted and a warning is logged
at most once a minute; after a failure the storage is left alone for a few seconds so that an
outage adds no timeout to every request. Refusing orders because a counter store is down would
turn a Redis outage into an order outage; admitting them only drops the flood protection for the
length of the outage, while authentication, login throttling and idempotency (all kept in the
database) go on working. A storage that cannot even be configured (unknown scheme, missing
client package) is a settings error at start, not something to fail open on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from typing import Any

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.datastructures import Headers

from orderdesk.core.errors import Throttled
from orderdesk.settings import Settings, async_storage_url

log = logging.getLogger("orderdesk.ratelimit")

EXEMPT_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc",
                          "/openapi.json"})
# Headers that name a caller, in the order the dialects' authentication reads them.
_CREDENTIAL_HEADERS = ("token", "x-api-key")
_WARN_EVERY = 60.0
_STORAGE_PAUSE = 5.0
# A remote store that does not answer must not hold a request for long.
_REDIS_TIMEOUTS: dict[str, float | str | bool] = {"connect_timeout": 0.5,
                                                  "stream_timeout": 0.5}


def credential_key(headers: Headers) -> str | None:
    """Which credential the request presents, as ``kind:digest``; ``None`` when it has none.

    Only a SHA-256 digest is kept: the storage (possibly a shared Redis) never holds a usable
    secret. A client id is keyed without its secret, so guessing secrets for one client id
    spends that client's budget rather than getting a fresh budget per guess.
    """
    for name in _CREDENTIAL_HEADERS:
        if value := headers.get(name):
            return f"{name}:{_digest(value)}"
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer " and authorization[7:].strip():
        return f"bearer:{_digest(authorization[7:].strip())}"
    if client_id := headers.get("x-client-id"):
        return f"x-client-id:{_digest(client_id)}"
    return None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _dialect(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0] or "root"


class RateLimiter:
    """Both budgets of every dialect request, over one ``limits`` storage."""

    def __init__(self, storage: Storage, *, per_ip: list[RateLimitItem],
                 per_client: list[RateLimitItem], prefix: str = "orderdesk",
                 trusted_proxies: int = 0) -> None:
        self.storage = storage
        self.per_ip = per_ip
        self.per_client = per_client
        self.prefix = prefix
        self.trusted_proxies = trusted_proxies
        self._strategy = MovingWindowRateLimiter(storage)
        self._paused_until = 0.0
        self._warned_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        url = async_storage_url(settings.rate_limit_storage)
        options = _REDIS_TIMEOUTS if url.startswith("async+redis") else {}
        storage = storage_from_string(url, wrap_exceptions=True, **options)
        assert isinstance(storage, Storage)
        return cls(storage, per_ip=parse_many(settings.rate_limit_ip),
                   per_client=parse_many(settings.rate_limit_client),
                   prefix=settings.rate_limit_prefix,
                   trusted_proxies=settings.rate_limit_trusted_proxies)

    def client_ip(self, request: Request) -> str:
        """The peer address, or the one the N trusted proxies in front recorded for it.

        Each proxy appends the address it received from, so the client is the N-th entry from
        the right; anything left of it was written by the client and proves nothing.
        """
        peer = request.client.host if request.client else "unknown"
        if self.trusted_proxies:
            hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for"))
                    .split(",") if h.strip()]
            if len(hops) >= self.trusted_proxies:
                return hops[-self.trusted_proxies]
        return peer

    async def check(self, request: Request) -> None:
        """Spend one unit of the request's budgets, or raise :class:`Throttled` saying how long
        to wait. Never raises because the storage failed (see the module's notes)."""
        path = request.url.path
        if path in EXEMPT_PATHS or time.monotonic() < self._paused_until:
            return
        dialect = _dialect(path)
        credential = credential_key(request.headers)
        try:
            wait = await self._spend(self.per_ip, "ip", dialect, self.client_ip(request))
            who = "this IP address"
            if wait is None and credential is not None:
                wait = await self._spend(self.per_client, "client", dialect, credential)
                who = "this API client"
        except (StorageError, OSError) as exc:
            self._storage_failed(exc)
            return
        if wait is not None:
            raise Throttled(f"Too many requests from {who}, retry in {wait} s", retry_after=wait)

    async def _spend(self, items: list[RateLimitItem], *key: str) -> int | None:
        """Seconds until a request fits again, or ``None`` when this one was admitted."""
        for item in items:
            if not await self._strategy.hit(item, self.prefix, *key):
                stats = await self._strategy.get_window_stats(item, self.prefix, *key)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    def _storage_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._paused_until = now + _STORAGE_PAUSE
        if self._warned_at is None or now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            cause = exc.storage_error if isinstance(exc, StorageError) else exc
            log.warning("rate limit storage unreachable, admitting requests unthrottled: %r",
                        cause)

    async def aclose(self) -> None:
        """Close the storage's Redis connections, or stop the in-process storage's expiry task.

        ``limits`` has no close of its own, so this reaches the client and task it keeps.
        """
        client: Any = getattr(getattr(self.storage, "bridge", None), "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()
        timer = getattr(self.storage, "timer", None)
        if isinstance(timer, asyncio.Task) and not timer.done():
            timer.cancel()


async def rate_limited(request: Request) -> None:
    """Router dependency: listed first, so it runs before the routes' authentication."""
    limiter: RateLimiter | None = request.app.state.orderdesk.rate_limiter
    if limiter is not None:
        await limiter.check(request)
