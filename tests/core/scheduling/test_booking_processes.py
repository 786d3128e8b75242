"""Booking the last masters from several server processes at once, on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from tests.conftest import create_pg_database, drop_pg_database
from tests.servers import running_server

pytestmark = [pytest.mark.postgres, pytest.mark.processes]

CAPACITY = 5
ATTEMPTS = 200


def _document(day: date) -> dict[str, object]:
    return {
        "version": 1,
        "partners": [
            {
                "name": "racer",
                "title": "Racer Furniture",
                "users": [{"login": "api@racer.example", "password": "race condition free"}],
                "stores": [
                    {
                        "id": "racer-riga",
                        "title": "Racer Riga",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 0, "1217": 0, "1721": 0},
                        "masters_on": [
                            {"date": day.isoformat(), "timeslot": "1217", "masters": CAPACITY}
                        ],
                    }
                ],
            }
        ],
        "items": [
            {
                "id": 7001,
                "title": "PAX wardrobe",
                "category": "wardrobes",
                "delivery": True,
                "assembly": True,
                "delivery_price": 2500,
                "assembly_price": 6900,
                "currency": "EUR",
            }
        ],
    }


async def test_200_concurrent_orders_across_4_workers_book_exactly_5(tmp_path: Path) -> None:
    url = await create_pg_database()
    try:
        day = date.today() + timedelta(days=3)
        setup = tmp_path / "setup.json"
        setup.write_text(json.dumps(_document(day)))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "orderdesk", "apply", str(setup), "--database-url", url
        )
        assert await proc.wait() == 0
        with running_server(url, workers=4, media_dir=tmp_path / "media") as base:
            async with httpx.AsyncClient(
                base_url=base, timeout=60, limits=httpx.Limits(max_connections=ATTEMPTS)
            ) as c:
                auth = await c.post(
                    "/partner/auth/authorize",
                    json={"login": "api@racer.example", "password": "race condition free"},
                )
                headers = {"token": auth.json()["data"]["token"]}
                body = {
                    "customer": {
                        "phone_number": "+37120000000",
                        "first_name": "A",
                        "last_name": "B",
                    },
                    "partner_details": {
                        "store_id": "racer-riga",
                        "instock": True,
                        "items": [{"id": 7001, "count": 1}],
                    },
                    "datetime": [{"date": day.isoformat(), "timeslot": "1217"}],
                    "payment_method": "cash",
                    "image_uuids": [],
                }
                responses = await asyncio.gather(
                    *(
                        c.post("/partner/order/create", json=body, headers=headers)
                        for _ in range(ATTEMPTS)
                    )
                )
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) == CAPACITY, statuses
        assert statuses.count(422) == ATTEMPTS - CAPACITY
        assert all(
            r.json()["data"][0]["type"] == "unavailable" for r in responses if r.status_code == 422
        )
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM orders") == CAPACITY
            assert await conn.fetchval("SELECT used FROM slot_usage") == CAPACITY
            assert await conn.fetchval("SELECT count(*) FROM outbox_events") == CAPACITY
        finally:
            await conn.close()
    finally:
        await drop_pg_database(url)
