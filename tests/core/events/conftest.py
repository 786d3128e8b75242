"""Fixtures for webhook delivery: a fresh migrated database per test and a real HTTP receiver.

The dispatcher commits in several short transactions and claims every due delivery in the
database, so each test gets its own database: a copy of a SQLite file migrated once per run, or
a PostgreSQL database created from a migrated template (dropped afterwards).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import json
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import PG_ADMIN_URL, FakeClock, create_pg_database, drop_pg_database

from orderdesk.core.events.dispatcher import Dispatcher
from orderdesk.core.events.models import OutboxEvent, WebhookDelivery
from orderdesk.core.events.signing import (
    PLAIN_HEADER,
    TIMESTAMPED_HEADER,
    verify_plain,
    verify_timestamped,
)
from orderdesk.core.orders.models import Order
from orderdesk.core.organizations.models import Location, Organization, WebhookSubscription
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction
from orderdesk.db.migrate import migrate

# ---------------------------------------------------------------------------------------------
# Databases


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("events-template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    await migrate(engine)
    await engine.dispose()
    return path


class PgTemplate:
    """A migrated PostgreSQL database used only as ``CREATE DATABASE ... TEMPLATE``.

    Built on first use, so runs that only touch SQLite never need the server.
    """

    def __init__(self) -> None:
        self._url: str | None = None

    async def new_database(self) -> str:
        if self._url is None:
            url = await create_pg_database()
            engine = create_engine(url)
            await migrate(engine)
            await engine.dispose()
            self._url = url
        name = f"orderdesk_events_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._url.rsplit("/", 1)[1]}"')
        finally:
            await conn.close()
        return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"

    async def drop(self) -> None:
        if self._url is not None:
            await drop_pg_database(self._url)


@pytest.fixture(scope="session")
async def pg_template() -> AsyncIterator[PgTemplate]:
    template = PgTemplate()
    yield template
    await template.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    pg_template: PgTemplate,
    tmp_path: Path,
) -> AsyncIterator[str]:
    """A fresh migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "orderdesk.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = await pg_template.new_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ---------------------------------------------------------------------------------------------
# Data: the core's own tables, written with the ORM

_numbers = itertools.count(1)


@dataclass
class Shop:
    """An organization with one location, able to take orders and emit events."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    organization_id: int
    location_id: int
    kind: str

    async def subscribe(
        self, url: str, *, secret: str | None = None, active: bool = True
    ) -> WebhookSubscription:
        async with transaction(self.sessions) as session:
            subscription = WebhookSubscription(
                organization_id=self.organization_id,
                url=url,
                secret=secret or secrets.token_urlsafe(24),
                active=active,
            )
            session.add(subscription)
        return subscription

    async def order(self) -> int:
        number = next(_numbers)
        async with transaction(self.sessions) as session:
            order = Order(
                uid=secrets.token_hex(16),
                token=secrets.token_hex(16),
                organization_id=self.organization_id,
                location_id=self.location_id,
                number=number,
                status="open",
                substatus="open",
                title=f"Order {number}",
                customer={"name": "Test"},
                address=None,
                payment_method="cash",
                ready=True,
                preferences=[],
                booked_day=None,
                subtotal=1000,
                total=1000,
                currency="EUR",
            )
            session.add(order)
            await session.flush()
            return order.id

    async def event(self, order_id: int | None, event: str = "order.created") -> int:
        """One committed outbox event; the payload names the event and order for assertions."""
        now = self.clock()
        async with transaction(self.sessions) as session:
            row = OutboxEvent(
                organization_id=self.organization_id,
                order_id=order_id,
                event=event,
                payload={
                    "event": event,
                    "created_at": now.isoformat(),
                    "data": {"order_id": order_id, "note": "žluťoučký kůň"},
                },
                created_at=now,
                published_at=None,
            )
            session.add(row)
            await session.flush()
            return row.id


ShopFactory = Callable[[str], Awaitable[Shop]]


@pytest.fixture
def make_shop(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> ShopFactory:
    async def make(kind: str) -> Shop:
        key = f"{kind}-{secrets.token_hex(4)}"
        async with transaction(sessions) as session:
            organization = Organization(kind=kind, key=key, title=key)
            session.add(organization)
            await session.flush()
            location = Location(
                organization_id=organization.id, key=f"{key}-loc", title=key, timezone="Europe/Riga"
            )
            session.add(location)
            await session.flush()
            return Shop(sessions, clock, organization.id, location.id, kind)

    return make


async def deliveries(sessions: async_sessionmaker[AsyncSession]) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list(
            (await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))).all()
        )


# ---------------------------------------------------------------------------------------------
# A real HTTP receiver


class Misbehaviour(enum.Enum):
    ERROR = "answer 500"
    CLOSE = "close the connection without answering"
    HANG = "never answer"


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    answered: int | None = None

    @property
    def delivery_id(self) -> int:
        return int(self.headers["x-orderdesk-delivery"])

    @property
    def event_id(self) -> int:
        return int(self.headers["x-orderdesk-event"])

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Plan:
    how: Misbehaviour
    remaining: int | None
    when: Callable[[ReceivedRequest], bool]


@dataclass
class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 that records requests and checks every signature.

    Each endpoint has its own contract (partner or restaurant) and secret; requests whose
    signature does not verify are answered 401, so a signing bug also fails deliveries.
    """

    clock: Callable[[], datetime]
    requests: list[ReceivedRequest] = field(default_factory=list)
    _endpoints: dict[str, tuple[str, str]] = field(default_factory=dict)
    _plans: list[_Plan] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def endpoint(self, kind: str, secret: str) -> str:
        path = f"/hooks/{secrets.token_hex(4)}"
        self._endpoints[path] = (kind, secret)
        return f"http://127.0.0.1:{self.port}{path}"

    def misbehave(
        self,
        how: Misbehaviour,
        *,
        times: int | None = None,
        when: Callable[[ReceivedRequest], bool] = lambda _: True,
    ) -> None:
        """The next ``times`` matching requests (all of them when None) get ``how``."""
        self._plans.append(_Plan(how, times, when))

    def heal(self) -> None:
        self._plans.clear()

    def delivered(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.answered is not None and 200 <= r.answered < 300]

    def _misbehaviour_for(self, request: ReceivedRequest) -> Misbehaviour | None:
        for plan in self._plans:
            if plan.remaining != 0 and plan.when(request):
                if plan.remaining is not None:
                    plan.remaining -= 1
                return plan.how
        return None

    def _verify(self, path: str, headers: dict[str, str], body: bytes) -> bool:
        kind, secret = self._endpoints.get(path, ("", ""))
        if kind == "partner":
            return verify_timestamped(
                headers.get(TIMESTAMPED_HEADER.lower(), ""), body, secret, self.clock()
            )
        if kind == "restaurant":
            return verify_plain(headers.get(PLAIN_HEADER.lower(), ""), body, secret)
        return False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while request_line := await reader.readline():
                _method, path, _version = request_line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = ReceivedRequest(path, headers, body, self._verify(path, headers, body))
                self.requests.append(request)
                how = self._misbehaviour_for(request)
                if how is Misbehaviour.CLOSE:
                    return
                if how is Misbehaviour.HANG:
                    await self._closing.wait()
                    return
                status = (
                    500 if how is Misbehaviour.ERROR else (200 if request.signature_valid else 401)
                )
                request.answered = status
                text = b"boom" if status == 500 else b"ok"
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(text)}\r\n"
                    f"Content-Type: text/plain\r\n\r\n".encode()
                    + text
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


@pytest.fixture
async def receiver(clock: FakeClock) -> AsyncIterator[Receiver]:
    server = Receiver(clock)
    await server.start()
    yield server
    await server.close()


# ---------------------------------------------------------------------------------------------
# The dispatcher under test

DISPATCH_TIMEOUT = 0.5  # seconds per delivery attempt: short, so timeouts are tested quickly


@pytest.fixture
async def dispatcher(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> AsyncIterator[Dispatcher]:
    async with Dispatcher(sessions, clock=clock, timeout=DISPATCH_TIMEOUT) as d:
        yield d


async def drain(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """Run rounds, jumping the clock to the next scheduled retry, until nothing is left to try
    (24 h of retries at most)."""
    for _ in range(1000):
        if await dispatcher.run_once():
            continue
        async with sessions() as session:
            next_due = await session.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(
                    WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at > clock()
                )
            )
        if next_due is None:
            return
        clock.set(next_due)
    raise AssertionError("deliveries did not settle in 1000 rounds")
