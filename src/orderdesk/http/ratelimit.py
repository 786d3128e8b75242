"""Request budgets per client IP and per API credential, spent before anyone is authenticated.

Every request to a dialect costs one unit of two budgets: its IP address's and, when it carries
one, its credential's (``token``, ``X-Api-Key``, ``Authorization: Bearer`` or ``X-Client-Id``,
in the order the dialects' authentication reads them). The check runs before authentication, so
a flood of wrong credentials is throttled like any other flood instead of costing a database
lookup per request; the IP budget is spent first, so a client cycling through random tokens is
still held by its address. Budgets are kept per dialect (the first path segment is in the key):
a partner integration and a restaurant till behind one NAT do not starve each other.

**Default budgets.** 6000/minute per credential and 12000/minute per IP (see the settings). A
busy integration sends tens of requests a second and more in bursts: a shop's batch import, a
backlog replayed after an outage. Stripe, for scale, allows 100 requests a second per account,
and 6000/minute is that average. The window is a minute rather than a second so that bursts are
absorbed and so that a budget divided between worker processes (below) still fits requests that
the kernel hands unevenly to the workers; a second-long window of 100 would refuse half of a
burst of 200. The IP budget is twice the credential's because one integration behind one address
often holds two credentials (an API key for reads and client credentials for writes, or several
partner logins) and also makes requests without one (logging in, free slots). These budgets
bound a runaway or hostile client, not capacity; login throttling is a separate, much tighter
budget per login, kept in the database.

**Moving window.** ``limits`` offers fixed windows (allow twice the limit across a window
boundary), sliding-window counters (an approximation from two counters: O(1) memory, but the
count and the reset time are estimates) and the moving window (one timestamp per admitted
request, exact). Exactness buys two things clients see: never more than the limit in any
window, and a ``Retry-After`` that is the moment the oldest admitted request leaves the window,
so a client that waits that long is admitted. Refused requests leave no timestamp, so a
throttled client that keeps knocking does not push its own reset further away. The price is
memory, at most one timestamp per unit of budget per active key (6000 floats, about 200 KB, for
a credential at its full budget), and that is affordable; time is not spent on it (below).

**Storage.** ``memory://`` (the default) counts inside one process: right for SQLite and for a
single worker. In-process windows are this module's :class:`LocalWindows` rather than ``limits``'
memory storage, whose cost is not the window length but an expiry pass it schedules after every
hit, hopping to a thread for each key. Measured with 100,000 hits at a steady 50 to 100 a second
(a full window) on a busy 2-core machine: ``limits``' memory storage 90-270 µs per hit, as much at
300/minute as at 6000/minute; :class:`LocalWindows` 1.5-2.5 µs. A whole check (IP and
credential) went from 250-470 µs to 20-65 µs per request, event loop turn included. A shared storage
(``ORDERDESK_RATE_LIMIT_STORAGE=redis://...``) goes through ``limits``, which runs the moving
window there as one Lua script per hit, atomic across processes: N workers spend one budget.

**Several workers.** With ``memory://`` and ``serve --workers N`` every process would grant the
full budget, N times the configured one in total, so each process gets the budget divided by N
(rounded down, but never below 1). The server as a whole then never admits more than the
configured budget; since a keep-alive connection stays on one worker, a client on one connection
sees 1/N of it. ``serve`` tells each worker N through ``ORDERDESK_WORKER_PROCESSES`` and says
at start which mode is in force (:func:`budget_summary`).

**Fail open.** If a shared storage cannot be reached, requests are admitted and a warning is
logged at most once a minute; after a failure the storage is left alone for a few seconds so
that an outage adds no timeout to every request. Refusing orders because a counter store is down
would turn a Redis outage into an order outage; admitting them only drops the flood protection
for the length of the outage, while authentication, login throttling and idempotency (all kept
in the database) go on working. A storage that cannot even be configured (unknown scheme,
missing client package) is a settings error at start, not something to fail open on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
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

EXEMPT_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
# Headers that name a caller, in the order the dialects' authentication reads them.
_CREDENTIAL_HEADERS = ("token", "x-api-key")
_WARN_EVERY = 60.0
_STORAGE_PAUSE = 5.0
# A remote store that does not answer must not hold a request for long.
_REDIS_TIMEOUTS: dict[str, float | str | bool] = {"connect_timeout": 0.5, "stream_timeout": 0.5}


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


def is_per_process(settings: Settings) -> bool:
    """Whether the configured storage counts inside each process rather than for all of them."""
    return async_storage_url(settings.rate_limit_storage).startswith("async+memory:")


def divided(items: list[RateLimitItem], processes: int) -> list[RateLimitItem]:
    """Each budget's share for one of ``processes`` processes that count on their own.

    Rounded down so that the shares never add up to more than the budget, except that a share
    is at least 1: a budget smaller than the number of processes would otherwise refuse
    everything, which no operator means by a small budget.
    """
    if processes <= 1:
        return items
    return [
        type(item)(
            max(1, item.amount // processes), multiples=item.multiples, namespace=item.namespace
        )
        for item in items
    ]


def process_budgets(settings: Settings) -> tuple[list[RateLimitItem], list[RateLimitItem]]:
    """The per-IP and per-credential budgets one process enforces (see "Several workers")."""
    processes = settings.worker_processes if is_per_process(settings) else 1
    return (
        divided(parse_many(settings.rate_limit_ip), processes),
        divided(parse_many(settings.rate_limit_client), processes),
    )


def budget_summary(settings: Settings) -> str:
    """One line for the start-up log: the budgets, and whether they are shared or divided.

    The storage is named by its scheme only: its URL may carry a password.
    """
    if not settings.rate_limit_enabled:
        return "rate limits: off"
    configured = f"{settings.rate_limit_ip} per IP, {settings.rate_limit_client} per API client"
    scheme = settings.rate_limit_storage.removeprefix("async+").split(":", 1)[0]
    workers = settings.worker_processes
    if not is_per_process(settings):
        return (
            f"rate limits: {configured}, shared by all {workers} worker process(es) in "
            f"{scheme} storage"
        )
    if workers == 1:
        return f"rate limits: {configured}, counted in the one worker process (memory)"
    per_ip, per_client = process_budgets(settings)
    share = (
        f"{';'.join(str(i) for i in per_ip)} per IP, "
        f"{';'.join(str(i) for i in per_client)} per API client"
    )
    return (
        f"rate limits: {configured} divided by {workers} worker processes, each counting "
        f"in memory: {share} in each (use redis:// storage for one shared count)"
    )


class LocalWindows:
    """Exact moving windows inside this process: per key, the times of the admitted requests.

    A hit first drops the times that have left the window (each time is dropped once, so this
    is O(1) amortised), then admits the request when fewer than ``limit`` remain. Keys are kept
    in the order of their last admission, and every admission forgets up to a few keys at the
    front whose every request has left the window, so a flood of one-off keys (random tokens) costs
    memory only for as long as it lasts, without a periodic sweep that would stall the event
    loop. Everything runs without an ``await``, so on one event loop a hit is atomic.
    """

    _FORGET_PER_HIT = 4

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: OrderedDict[str, tuple[deque[float], float]] = OrderedDict()

    def hit(self, key: str, limit: int, seconds: float) -> float | None:
        """``None`` when admitted, else the seconds until the oldest admission leaves."""
        now = self._clock()
        found = self._windows.get(key)
        if found is None:
            times: deque[float] = deque()
            self._windows[key] = (times, seconds)
        else:
            times = found[0]
            horizon = now - seconds
            while times and times[0] <= horizon:
                times.popleft()
        if len(times) >= limit:
            return times[0] + seconds - now
        times.append(now)
        self._windows.move_to_end(key)
        self._forget(now)
        return None

    def _forget(self, now: float) -> None:
        for _ in range(self._FORGET_PER_HIT):
            key, (times, seconds) = next(iter(self._windows.items()))
            if times and times[-1] > now - seconds:
                return
            del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)


class RateLimiter:
    """Both budgets of every dialect request, in this process or over a shared storage.

    ``storage`` is a ``limits`` storage shared by several processes; ``None`` counts in this
    process only (:class:`LocalWindows`).
    """

    def __init__(
        self,
        storage: Storage | None,
        *,
        per_ip: list[RateLimitItem],
        per_client: list[RateLimitItem],
        prefix: str = "orderdesk",
        trusted_proxies: int = 0,
    ) -> None:
        self.storage = storage
        self.per_ip = per_ip
        self.per_client = per_client
        self.prefix = prefix
        self.trusted_proxies = trusted_proxies
        self._local = LocalWindows() if storage is None else None
        self._strategy = MovingWindowRateLimiter(storage) if storage is not None else None
        self._paused_until = 0.0
        self._warned_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        per_ip, per_client = process_budgets(settings)
        storage: Storage | None = None
        if not is_per_process(settings):
            url = async_storage_url(settings.rate_limit_storage)
            options = _REDIS_TIMEOUTS if url.startswith("async+redis") else {}
            shared = storage_from_string(url, wrap_exceptions=True, **options)
            assert isinstance(shared, Storage)
            storage = shared
        return cls(
            storage,
            per_ip=per_ip,
            per_client=per_client,
            prefix=settings.rate_limit_prefix,
            trusted_proxies=settings.rate_limit_trusted_proxies,
        )

    def client_ip(self, request: Request) -> str:
        """The peer address, or the one the N trusted proxies in front recorded for it.

        Each proxy appends the address it received from, so the client is the N-th entry from
        the right; anything left of it was written by the client and proves nothing.
        """
        peer = request.client.host if request.client else "unknown"
        if self.trusted_proxies:
            hops = [
                h.strip()
                for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")
                if h.strip()
            ]
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
        for index, item in enumerate(items):
            if self._local is not None:
                # The kind in the key tells the IP list from the client one; ``limits``' own
                # key_for would cost a fifth of the check.
                wait = self._local.hit(f"{'/'.join(key)}#{index}", item.amount, item.get_expiry())
                if wait is not None:
                    return max(1, math.ceil(wait))
            elif self._strategy is not None and not await self._strategy.hit(
                item, self.prefix, *key
            ):
                stats = await self._strategy.get_window_stats(item, self.prefix, *key)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    def _storage_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._paused_until = now + _STORAGE_PAUSE
        if self._warned_at is None or now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            cause = exc.storage_error if isinstance(exc, StorageError) else exc
            log.warning("rate limit storage unreachable, admitting requests unthrottled: %r", cause)

    async def aclose(self) -> None:
        """Close a shared storage's Redis connections (and the expiry task of ``limits``'
        in-process storage, should one be passed in).

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
