"""Coupons, order numbers and time slots raced from several server processes, on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import counter_order_body
from tests.servers import running_server

pytestmark = [pytest.mark.postgres, pytest.mark.processes]

ATTEMPTS = 120
SLOT_CAPACITY = 3
COUPON_USES = 4
API_KEY = "race-api-key-0123456789"
HEADERS = {"X-Client-Id": "race-web", "X-Client-Secret": "race-client-secret-0123"}


def _document() -> dict[str, Any]:
    every_day = {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    return {
        "version": 1,
        "restaurants": [
            {
                "uid": "race",
                "name": "Race Pizza",
                "timezone": "Europe/Rome",
                "language": "it",
                "currency": "EUR",
                "auto_confirm": True,
                "countdown_seconds": 300,
                "api_keys": [API_KEY],
                "clients": [
                    {
                        "client_id": "race-web",
                        "client_secret": "race-client-secret-0123",
                        "scopes": ["write:orders", "read:orders", "read:menu"],
                    }
                ],
                "subrestaurants": [
                    {
                        "uid": "race-centro",
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
                        "orders_per_slot": SLOT_CAPACITY,
                    }
                ],
                "dmethods": ["0", "0t"],
                "cash_subs": ["cash"],
                "categories": [{"uid": "pizze", "name": "Pizze"}],
                "products": [
                    {
                        "uid": "margherita",
                        "category_uid": "pizze",
                        "name": "Margherita",
                        "price": 750,
                    }
                ],
                "coupons": [
                    {
                        "code": "RACE",
                        "discount_perc": 10,
                        "quantity": COUPON_USES,
                        "valid_from": "2020-01-01",
                        "valid_to": "2099-12-31",
                    }
                ],
            }
        ],
    }


async def _fire(
    base: str, bodies: list[dict[str, Any]], headers: list[dict[str, str]] | None = None
) -> list[httpx.Response]:
    async with httpx.AsyncClient(
        base_url=base, timeout=120, limits=httpx.Limits(max_connections=len(bodies))
    ) as client:
        return await asyncio.gather(
            *(
                client.post(
                    "/api/order/create",
                    json=b,
                    headers={**HEADERS, **((headers or [{}] * len(bodies))[i])},
                )
                for i, b in enumerate(bodies)
            )
        )


async def test_races_across_4_workers_never_exceed_capacity(tmp_path: Path) -> None:
    url = await create_pg_database()
    try:
        setup = tmp_path / "setup.json"
        setup.write_text(json.dumps(_document()))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "orderdesk", "apply", str(setup), "--database-url", url
        )
        assert await proc.wait() == 0
        slot = (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo("Europe/Rome"))
        slot = slot.replace(hour=12, minute=0, second=0, microsecond=0)
        with running_server(url, workers=4, media_dir=tmp_path / "media") as base:
            numbered = await _fire(base, [counter_order_body() for _ in range(ATTEMPTS)])
            couponed = await _fire(
                base, [counter_order_body(coupon={"code": "RACE"}) for _ in range(ATTEMPTS)]
            )
            pickup = {"date": slot.isoformat()}
            slotted = await _fire(
                base, [counter_order_body(dmethod="0", pickup=pickup) for _ in range(ATTEMPTS)]
            )
            keyed = await _fire(
                base,
                [counter_order_body() for _ in range(ATTEMPTS)],
                [{"Idempotency-Key": "same-key"}] * ATTEMPTS,
            )

        assert all(r.status_code == 200 for r in numbered)
        assert all(r.json()["success"] for r in numbered), numbered[0].text

        won = [r for r in couponed if r.json()["success"]]
        assert len(won) == COUPON_USES
        assert {r.json()["error"] for r in couponed if not r.json()["success"]} == {"COUPON_ERROR"}

        booked = [r for r in slotted if r.json()["success"]]
        assert len(booked) == SLOT_CAPACITY
        assert {r.json()["error"] for r in slotted if not r.json()["success"]} == {
            "VALIDATION_ERROR"
        }

        created = {r.json()["order"]["uid"] for r in keyed if r.status_code == 200}
        assert len(created) == 1
        assert {r.status_code for r in keyed} <= {200, 409}

        conn = await asyncpg.connect(url)
        try:
            numbers = [r["number"] for r in await conn.fetch("SELECT number FROM orders")]
            assert len(numbers) == len(set(numbers)) == max(numbers)
            assert len(numbers) == ATTEMPTS + COUPON_USES + SLOT_CAPACITY + 1
            assert await conn.fetchval("SELECT quantity FROM coupons") == 0
            assert await conn.fetchval("SELECT count(*) FROM coupon_uses") == COUPON_USES
            assert await conn.fetchval("SELECT used FROM slot_usage") == SLOT_CAPACITY
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM outbox_events e "
                    "WHERE e.order_id = o.id)"
                )
                == 0
            )
        finally:
            await conn.close()
    finally:
        await drop_pg_database(url)
