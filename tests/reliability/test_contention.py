"""Contended resources raced by many concurrent clients against ``serve --workers 4``.

Every scenario fires ``STRESS_ATTEMPTS`` requests at once (300 by default, which keeps
CI short; the full run is ``STRESS_ATTEMPTS=1000``) at one resource that only some of
them may take, through one HTTP client holding at most ``CONNECTIONS`` connections so that a
two-core machine is loaded, not swamped. Each scenario prints one summary line and, when
``RELIABILITY_REPORT`` names a file, appends the same figures to it as one JSON object
per line. After every scenario the database is checked: counters agree with the rows they count,
order numbers have no duplicates and no gaps, and every order has its outbox event.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import counter_order_body
from tests.reliability.support import (
    apply_document,
    report,
    serve_pid,
    server_env,
    worker_pids,
)
from tests.servers import running_server

pytestmark = [pytest.mark.postgres, pytest.mark.processes, pytest.mark.stress]

ATTEMPTS = int(os.environ.get("STRESS_ATTEMPTS", "300"))
CONNECTIONS = 100
# Generous but bounded: a request that gets no answer in two minutes is a hang, not load.
TIMEOUT = httpx.Timeout(connect=10, read=120, write=10, pool=300)

MASTERS = 5
COUPON_USES = 7
ORDERS_PER_SLOT = 3
COUPON = "LAST7"
PARTNER_LOGIN = {"login": "api@contend.example", "password": "contention is fine"}


def _client_of(uid: str) -> dict[str, str]:
    return {"X-Client-Id": f"{uid}-web", "X-Client-Secret": f"{uid}-client-secret-0123"}


def _restaurant(uid: str, **extra: Any) -> dict[str, Any]:
    every_day = {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    return {
        "uid": uid,
        "name": f"Contend {uid}",
        "timezone": "Europe/Rome",
        "language": "it",
        "currency": "EUR",
        "auto_confirm": True,
        "countdown_seconds": 300,
        "api_keys": [f"{uid}-api-key-0123456789"],
        "clients": [
            {
                "client_id": f"{uid}-web",
                "client_secret": f"{uid}-client-secret-0123",
                "scopes": ["write:orders", "read:orders", "read:menu"],
            }
        ],
        "subrestaurants": [
            {
                "uid": f"{uid}-centro",
                "name": "Centro",
                "code": "C",
                "address": "Via Roma 1",
                "city": "Milano",
                "province": "MI",
                "zip": "20121",
                "country": "IT",
                "lat": 45.4642,
                "lng": 9.19,
                "opening_hours": every_day,
                "lead_minutes": 0,
                "slot_minutes": 15,
                "orders_per_slot": ORDERS_PER_SLOT,
            }
        ],
        "dmethods": ["0", "0t"],
        "cash_subs": ["cash"],
        "categories": [{"uid": "pizze", "name": "Pizze"}],
        "products": [
            {"uid": "margherita", "category_uid": "pizze", "name": "Margherita", "price": 750}
        ],
        **extra,
    }


def _document(day: date) -> dict[str, Any]:
    return {
        "version": 1,
        "partners": [
            {
                "name": "contend",
                "title": "Contend Furniture",
                "users": [{**PARTNER_LOGIN}],
                "stores": [
                    {
                        "id": "contend-riga",
                        "title": "Contend Riga",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 0, "1217": 0, "1721": 0},
                        "masters_on": [
                            {"date": day.isoformat(), "timeslot": "1217", "masters": MASTERS}
                        ],
                    }
                ],
            }
        ],
        "items": [
            {
                "id": 7101,
                "title": "PAX wardrobe",
                "category": "wardrobes",
                "delivery": True,
                "assembly": True,
                "delivery_price": 2500,
                "assembly_price": 6900,
                "currency": "EUR",
            }
        ],
        "restaurants": [
            _restaurant(
                "coupons",
                coupons=[
                    {
                        "code": COUPON,
                        "discount_perc": 10,
                        "quantity": COUPON_USES,
                        "valid_from": "2020-01-01",
                        "valid_to": "2099-12-31",
                    }
                ],
            ),
            _restaurant("slots"),
            _restaurant("numbers"),
            _restaurant("keys"),
        ],
    }


@dataclass
class Served:
    base: str
    database_url: str
    day: date
    pickup: datetime
    partner_token: str
    pid: int


@dataclass
class Race:
    """What came back from one scenario's attempts."""

    scenario: str
    responses: list[httpx.Response]
    transport_errors: list[str]
    duration: float
    succeeded: Callable[[httpx.Response], bool]
    refused: Callable[[httpx.Response], bool]
    workers_replaced: int
    figures: dict[str, Any] = field(default_factory=dict)

    def successes(self) -> list[httpx.Response]:
        return [r for r in self.responses if r.status_code < 500 and self.succeeded(r)]

    def refusals(self) -> list[httpx.Response]:
        return [r for r in self.responses if r.status_code < 500 and self.refused(r)]

    def server_errors(self) -> list[httpx.Response]:
        return [r for r in self.responses if r.status_code >= 500]

    def unexpected(self) -> list[httpx.Response]:
        return [
            r
            for r in self.responses
            if r.status_code < 500 and not self.succeeded(r) and not self.refused(r)
        ]

    def report(self) -> None:
        self.figures = {
            "test": "contention",
            "scenario": self.scenario,
            "workers": 4,
            "attempts": len(self.responses) + len(self.transport_errors),
            "successes": len(self.successes()),
            "refusals": len(self.refusals()),
            "server_errors_5xx": len(self.server_errors()),
            "unexpected": len(self.unexpected()),
            "transport_errors": len(self.transport_errors),
            "workers_replaced": self.workers_replaced,
            "duration_s": round(self.duration, 2),
            "requests_per_s": round(
                (len(self.responses) + len(self.transport_errors)) / self.duration, 1
            ),
        }
        report(self.figures)

    def assert_clean(self) -> None:
        """No 5xx, no dropped connection, nothing but a success or the expected refusal."""
        assert not self.transport_errors, (self.workers_replaced, self.transport_errors[:5])
        assert not self.server_errors(), [r.text for r in self.server_errors()[:5]]
        assert not self.unexpected(), [(r.status_code, r.text) for r in self.unexpected()[:5]]


async def race(
    served: Served,
    scenario: str,
    path: str,
    requests: list[tuple[dict[str, Any], dict[str, str]]],
    *,
    succeeded: Callable[[httpx.Response], bool],
    refused: Callable[[httpx.Response], bool],
) -> Race:
    """Fire every ``(body, headers)`` at ``path`` at once; report and return what came back."""
    responses: list[httpx.Response] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)

    async def attempt(
        client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        try:
            responses.append(await client.post(path, json=body, headers=headers))
        except httpx.TransportError as exc:
            errors.append(f"{exc.__class__.__name__}: {exc}")

    workers = worker_pids(served.pid)
    async with httpx.AsyncClient(base_url=served.base, timeout=TIMEOUT, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(attempt(client, body, headers) for body, headers in requests))
        duration = time.monotonic() - started
    replaced = len(workers - worker_pids(served.pid))
    result = Race(scenario, responses, errors, duration, succeeded, refused, replaced)
    result.report()
    return result


def _restaurant_ok(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.json().get("success") is True


def _restaurant_error(code: str) -> Callable[[httpx.Response], bool]:
    def refused(response: httpx.Response) -> bool:
        body = response.json()
        return body.get("success") is False and body.get("error") == code

    return refused


async def check_books(url: str) -> None:
    """Invariants over the whole database: counters match the rows they count."""
    conn = await asyncpg.connect(url)
    try:
        # Units taken in each location's slots == orders holding a slot there.
        mismatched = await conn.fetch("""
            SELECT l.key, coalesce(u.used, 0) AS used, coalesce(o.booked, 0) AS booked
            FROM locations l
            LEFT JOIN (SELECT location_id, sum(used) AS used FROM slot_usage
                       GROUP BY location_id) u ON u.location_id = l.id
            LEFT JOIN (SELECT location_id, count(*) AS booked FROM orders
                       WHERE booked_day IS NOT NULL OR (fulfilment->>'slot_booked')::boolean
                       GROUP BY location_id) o ON o.location_id = l.id
            WHERE coalesce(u.used, 0) <> coalesce(o.booked, 0)""")
        assert not mismatched, [dict(r) for r in mismatched]
        # Remaining uses == initial uses - uses recorded.
        coupon = await conn.fetchrow(
            """
            SELECT c.quantity, (SELECT count(*) FROM coupon_uses u WHERE u.coupon_id = c.id) AS used
            FROM coupons c WHERE c.code = $1""",
            COUPON,
        )
        assert coupon["quantity"] == COUPON_USES - coupon["used"], dict(coupon)
        # Per organization: numbers 1..n, no duplicates, no gaps.
        numbering = await conn.fetch("""
            SELECT organization_id, count(*) AS n, count(DISTINCT number) AS distinct_numbers,
                   min(number) AS first, max(number) AS last
            FROM orders GROUP BY organization_id""")
        for row in numbering:
            assert row["n"] == row["distinct_numbers"] == row["last"], dict(row)
            assert row["first"] == 1, dict(row)
        without_event = await conn.fetchval("""
            SELECT count(*) FROM orders o WHERE NOT EXISTS (
                SELECT 1 FROM outbox_events e WHERE e.order_id = o.id)""")
        assert without_event == 0
    finally:
        await conn.close()


async def _orders_of(url: str, organization: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(
            """
            SELECT o.* FROM orders o JOIN organizations g ON g.id = o.organization_id
            WHERE g.key = $1 ORDER BY o.number""",
            organization,
        )
        return rows
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """One fresh database with every scenario's organization, served by four workers."""
    url = await create_pg_database()
    try:
        tmp = tmp_path_factory.mktemp("contention")
        day = date.today() + timedelta(days=3)
        await apply_document(url, _document(day), tmp)
        pickup = (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo("Europe/Rome"))
        pickup = pickup.replace(hour=12, minute=0, second=0, microsecond=0)
        with running_server(
            url, workers=4, media_dir=tmp / "media", env_extra=server_env()
        ) as base:
            async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
                auth = await client.post("/partner/auth/authorize", json=PARTNER_LOGIN)
                assert auth.status_code == 200, auth.text
            yield Served(base, url, day, pickup, auth.json()["data"]["token"], serve_pid(base))
    finally:
        await drop_pg_database(url)


async def test_last_masters_of_a_partner_slot_go_to_exactly_capacity_racers(
    served: Served,
) -> None:
    body = {
        "customer": {"phone_number": "+37120000000", "first_name": "A", "last_name": "B"},
        "partner_details": {
            "store_id": "contend-riga",
            "instock": True,
            "items": [{"id": 7101, "count": 1}],
        },
        "datetime": [{"date": served.day.isoformat(), "timeslot": "1217"}],
        "payment_method": "cash",
        "image_uuids": [],
    }
    result = await race(
        served,
        "partner_slot_masters",
        "/partner/order/create",
        [(body, {"token": served.partner_token})] * ATTEMPTS,
        succeeded=lambda r: r.status_code == 200,
        refused=lambda r: r.status_code == 422 and r.json()["data"][0]["type"] == "unavailable",
    )

    result.assert_clean()
    assert len(result.successes()) == MASTERS
    assert len(result.refusals()) == ATTEMPTS - MASTERS
    booked = await _orders_of(served.database_url, "contend")
    assert sorted(o["id"] for o in booked) == sorted(
        r.json()["data"]["_id"] for r in result.successes()
    )
    conn = await asyncpg.connect(served.database_url)
    try:
        assert (
            await conn.fetchval(
                "SELECT u.used FROM slot_usage u JOIN locations l ON l.id = u.location_id "
                "WHERE l.key = 'contend-riga' AND u.day = $1 AND u.slot = '1217'",
                served.day,
            )
            == MASTERS
        )
    finally:
        await conn.close()
    await check_books(served.database_url)


async def test_last_uses_of_a_coupon_go_to_exactly_its_quantity(served: Served) -> None:
    result = await race(
        served,
        "restaurant_coupon_uses",
        "/api/order/create",
        [(counter_order_body(coupon={"code": COUPON}), _client_of("coupons"))] * ATTEMPTS,
        succeeded=_restaurant_ok,
        refused=_restaurant_error("COUPON_ERROR"),
    )

    result.assert_clean()
    assert len(result.successes()) == COUPON_USES
    assert len(result.refusals()) == ATTEMPTS - COUPON_USES
    orders = await _orders_of(served.database_url, "coupons")
    assert len(orders) == COUPON_USES
    assert all(o["coupon_code"] == COUPON and o["discount"] > 0 for o in orders)
    conn = await asyncpg.connect(served.database_url)
    try:
        assert await conn.fetchval("SELECT quantity FROM coupons WHERE code = $1", COUPON) == 0
        assert await conn.fetchval("SELECT count(*) FROM coupon_uses") == COUPON_USES
    finally:
        await conn.close()
    await check_books(served.database_url)


async def test_a_pickup_slot_takes_exactly_orders_per_slot(served: Served) -> None:
    body = counter_order_body(dmethod="0", pickup={"date": served.pickup.isoformat()})
    result = await race(
        served,
        "restaurant_slot_capacity",
        "/api/order/create",
        [(body, _client_of("slots"))] * ATTEMPTS,
        succeeded=_restaurant_ok,
        refused=_restaurant_error("VALIDATION_ERROR"),
    )

    result.assert_clean()
    assert len(result.successes()) == ORDERS_PER_SLOT
    assert len(result.refusals()) == ATTEMPTS - ORDERS_PER_SLOT
    orders = await _orders_of(served.database_url, "slots")
    assert len(orders) == ORDERS_PER_SLOT
    assert {o["scheduled_at"] for o in orders} == {served.pickup}
    conn = await asyncpg.connect(served.database_url)
    try:
        assert (
            await conn.fetchval(
                "SELECT sum(u.used) FROM slot_usage u JOIN locations l ON l.id = u.location_id "
                "WHERE l.key = 'slots-centro'"
            )
            == ORDERS_PER_SLOT
        )
    finally:
        await conn.close()
    await check_books(served.database_url)


async def test_concurrent_orders_get_unique_gapless_numbers(served: Served) -> None:
    result = await race(
        served,
        "order_numbers",
        "/api/order/create",
        [(counter_order_body(), _client_of("numbers"))] * ATTEMPTS,
        succeeded=_restaurant_ok,
        refused=lambda r: False,
    )

    result.assert_clean()
    assert len(result.successes()) == ATTEMPTS
    answered = sorted(int(r.json()["order"]["order_number"]) for r in result.successes())
    assert answered == list(range(1, ATTEMPTS + 1))
    stored = [o["number"] for o in await _orders_of(served.database_url, "numbers")]
    assert stored == list(range(1, ATTEMPTS + 1))
    await check_books(served.database_url)


async def test_one_idempotency_key_raced_creates_exactly_one_order(served: Served) -> None:
    headers = {**_client_of("keys"), "Idempotency-Key": "contended-key"}
    body = counter_order_body()
    result = await race(
        served,
        "idempotency_key_reuse",
        "/api/order/create",
        [(body, headers)] * ATTEMPTS,
        succeeded=_restaurant_ok,
        refused=lambda r: r.status_code == 409 and r.json().get("error") == "INVALID_ACTION",
    )

    result.assert_clean()
    assert result.successes()
    assert len({r.json()["order"]["uid"] for r in result.successes()}) == 1
    async with httpx.AsyncClient(base_url=served.base, timeout=TIMEOUT) as client:
        again = await client.post("/api/order/create", json=body, headers=headers)
    assert again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["order"]["uid"] == result.successes()[0].json()["order"]["uid"]
    orders = await _orders_of(served.database_url, "keys")
    assert [o["uid"] for o in orders] == [again.json()["order"]["uid"]]
    conn = await asyncpg.connect(served.database_url)
    try:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM idempotency_records WHERE key = 'contended-key'"
            )
            == 1
        )
    finally:
        await conn.close()
    await check_books(served.database_url)
