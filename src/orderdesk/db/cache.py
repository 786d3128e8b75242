"""A per-process cache of configuration rows, kept correct by the database itself.

Most of what an order request reads is configuration that changes rarely and is the same for
every request: who a token or API key belongs to, the store, the items and their categories,
options, capacity overrides, delivery zones. Reading it again for every order cost half of the
statements of an order request. Each worker process keeps what it read here instead.

**Invalidation.** On PostgreSQL, statement-level triggers on every configuration table (see
migration 0004) call ``pg_notify('orderdesk_config', <table>)``; PostgreSQL delivers a
notification when, and only if, the writing transaction commits, whoever the writer is (the
setup document, a menu import, a token revocation, ``psql``). Each worker listens on a
connection of its own and empties its cache on every notification. A value read before a change
committed but stored after its notification arrived is refused (the *generation* check in
:func:`cached`), so the cache never keeps a value older than the last notification it saw.

A notification arrives a moment after its commit. So that a process sees its *own* changes at
once (an operator applying a setup document through the same server, a revoked token used again
by the next request), the engine also watches the statements it sends and, when a transaction
that wrote to a configuration table commits, empties its own cache right away
(:func:`watch_local_writes`).

**When the listener is down** (not yet connected, connection lost) nothing is cached and every
read goes to the database, as without a cache; the listener reconnects with backoff and the
cache is used again, empty, once it listens again. Notifications lost while it was down cannot
matter: nothing was cached then.

**SQLite** has no notifications, and another process (``orderdesk apply``) may change the file
while the server runs, so there is no cache there: every read goes to the database, which is a
local file read.

Entries also expire after ``ttl`` seconds, a bound on staleness should a notification ever be
missed, and the cache holds at most ``max_entries`` (least recently used go first). Cached values
are shared by concurrent requests and must be treated as read-only: ORM instances stored here
are detached from the session that loaded them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger("orderdesk.cache")

CHANNEL = "orderdesk_config"
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING: Any = object()


class ConfigCache:
    def __init__(self, *, max_entries: int = 20_000, ttl: float = 300.0) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self.enabled = False
        self.generation = 0
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return _MISSING
        if entry[0] < time.monotonic():
            del self._entries[key]
            return _MISSING
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        """Store ``value`` read at ``generation``, unless an invalidation came in meanwhile."""
        if not self.enabled or generation != self.generation:
            return
        self._entries[key] = (time.monotonic() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# The tables whose rows are cached; migrations 0004 and 0008 put the notifying triggers on them.
CONFIG_TABLES = frozenset(
    {
        "organizations",
        "locations",
        "api_users",
        "api_keys",
        "api_clients",
        "categories",
        "products",
        "product_options",
        "option_values",
        "capacity_overrides",
        "delivery_zones",
        "api_tokens",
        "client_tokens",
        "places",
        "sold_out",
    }
)
# Rows cached one by one, by their own key: a new one is in no cache yet (a login's token).
_NEW_ROWS_CACHED_NOWHERE = frozenset({"api_tokens", "client_tokens", "places"})
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)


def watch_local_writes(engine: AsyncEngine, cache: ConfigCache) -> None:
    """Empty ``cache`` when a transaction of ``engine`` that wrote configuration commits."""
    sync = engine.sync_engine

    @event.listens_for(sync, "before_cursor_execute")
    def _seen(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        match = _WRITE.match(statement)
        if match is None:
            return
        table = match.group(1).lower()
        if table in CONFIG_TABLES and not (
            table in _NEW_ROWS_CACHED_NOWHERE and match.group(0).lstrip()[:1].upper() == "I"
        ):
            conn.info["config_written"] = True

    @event.listens_for(sync, "commit")
    def _committed(conn: Connection) -> None:
        if conn.info.pop("config_written", False):
            cache.invalidate()

    @event.listens_for(sync, "rollback")
    def _rolled_back(conn: Connection) -> None:
        conn.info.pop("config_written", None)


def _detach(session: AsyncSession, value: Any, seen: set[int] | None = None) -> None:
    """Take every ORM instance in ``value`` out of ``session``.

    A cached instance must not stay in the session that loaded it: that session's rollback (or
    a later refresh) would expire it under every other request that holds it from the cache.
    Walks tuples, lists, dicts and plain objects (dataclasses, small wrappers) within ``value``.
    """
    seen = set() if seen is None else seen
    if value is None or isinstance(value, (str, int, float, bytes)) or id(value) in seen:
        return
    seen.add(id(value))
    if hasattr(value, "_sa_instance_state"):
        if value in session.sync_session:
            session.expunge(value)
        return
    if isinstance(value, dict):
        children: Iterable[Any] = value.values()
    elif isinstance(value, (list, tuple, set, frozenset)):
        children = value
    elif hasattr(value, "__dict__"):
        children = vars(value).values()
    else:
        children = (getattr(value, name, None) for name in getattr(value, "__slots__", ()))
    for child in children:
        _detach(session, child, seen)


def cache_of(session: AsyncSession) -> ConfigCache | None:
    """The cache of the sessions' factory (``info={"config_cache": ...}``), if it has one."""
    cache = session.info.get("config_cache")
    return cache if isinstance(cache, ConfigCache) and cache.enabled else None


async def cached(session: AsyncSession, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """``load()``'s value for ``key``, from the cache when it is there and the cache is live.

    ``None`` is never stored: a miss (an unknown token, say) is asked again next time, so a
    flood of wrong credentials cannot fill the cache.
    """
    cache = cache_of(session)
    if cache is None:
        return await load()
    value = cache.get(key)
    if value is not _MISSING:
        return value  # type: ignore[no-any-return]
    generation = cache.generation
    value = await load()
    if value is not None:
        _detach(session, value)
        cache.put(key, value, generation)
    return value


async def cached_many(
    session: AsyncSession,
    prefix: Hashable,
    keys: Iterable[K],
    load: Callable[[list[K]], Awaitable[Mapping[K, V]]],
) -> dict[K, V]:
    """The values of every key that exists: cached ones from the cache, the rest from one
    ``load(missing_keys)`` call (which may return more keys than asked; they are kept too)."""
    wanted = list(dict.fromkeys(keys))
    cache = cache_of(session)
    if cache is None:
        return dict(await load(wanted)) if wanted else {}
    found: dict[K, V] = {}
    missing: list[K] = []
    for key in wanted:
        value = cache.get((prefix, key))
        if value is _MISSING:
            missing.append(key)
        else:
            found[key] = value
    if missing:
        generation = cache.generation
        loaded = await load(missing)
        _detach(session, loaded)
        for key, value in loaded.items():
            cache.put((prefix, key), value, generation)
            if key in missing:
                found[key] = value
    return found


class ConfigListener:
    """Listens for configuration changes on a PostgreSQL connection of its own."""

    def __init__(
        self, dsn: str, cache: ConfigCache, *, retry_max: float = 30.0, probe_every: float = 10.0
    ) -> None:
        self.dsn = dsn
        self.probe_every = probe_every
        self.cache = cache
        self.retry_max = retry_max
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="orderdesk-config-listener")

    async def stop(self) -> None:
        self.cache.enabled = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _notified(self, *_args: Any) -> None:
        self.cache.invalidate()

    def _terminated(self, *_args: Any) -> None:
        self.cache.enabled = False
        self.cache.invalidate()
        self._lost.set()

    async def _watch(self, connection: Any) -> None:
        """Return when the connection is lost; a silent network failure is found by a probe."""
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), timeout=self.probe_every)
                return
            except TimeoutError:
                pass
            try:
                await connection.fetchval("SELECT 1", timeout=5)
            except Exception:  # whatever the failure, the notifications may be lost
                return

    async def _run(self) -> None:
        import asyncpg

        delay = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(
                    self.dsn,
                    timeout=10,
                    server_settings={"application_name": "orderdesk-config-listener"},
                )
                self._lost.clear()
                connection.add_termination_listener(self._terminated)
                await connection.add_listener(CHANNEL, self._notified)
                # Listening from here on: whatever changes now is heard, so start afresh.
                self.cache.invalidate()
                self.cache.enabled = True
                delay = 0.5
                await self._watch(connection)
                log.warning(
                    "configuration listener lost its connection; caching is off until it is back"
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure to connect: keep the cache off, try again
                log.warning(
                    "configuration listener cannot connect (%s); caching is off",
                    exc.__class__.__name__,
                )
            finally:
                self.cache.enabled = False
                if connection is not None and not connection.is_closed():
                    await connection.close(timeout=2)
            await asyncio.sleep(delay)
            delay = min(self.retry_max, delay * 2)
