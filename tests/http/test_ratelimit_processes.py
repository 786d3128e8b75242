"""Request budgets of a real ``orderdesk serve --workers 2``: one budget for the whole server.

Requests on fresh connections are handed by the kernel to both workers: with ``memory://``
each worker counts alone and must admit only its half, with Redis both spend one count. Requests
on one keep-alive connection stay on one worker: with ``memory://`` they see that worker's half,
with Redis the whole budget. A budget of 10 a minute per credential is small enough that a
worker granting the whole budget shows as more than 10 admitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.http.conftest import REDIS_URL
from tests.servers import running_server

from orderdesk.setup.demo import (
    DEMO_RESTAURANT_API_KEY,
    DEMO_RESTAURANT_CLIENT_ID,
    DEMO_RESTAURANT_CLIENT_SECRET,
)

pytestmark = pytest.mark.processes

BUDGET = 10
REQUESTS = 60
WAVE = 6
PATH = "/api/account/subrestaurants"
# Two credentials of the demo restaurant, each with a budget of its own.
API_KEY = {"X-Api-Key": DEMO_RESTAURANT_API_KEY}
CLIENT = {
    "X-Client-Id": DEMO_RESTAURANT_CLIENT_ID,
    "X-Client-Secret": DEMO_RESTAURANT_CLIENT_SECRET,
}


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[str]:
    env = {
        "ORDERDESK_RATE_LIMIT_CLIENT": f"{BUDGET}/minute",
        "ORDERDESK_RATE_LIMIT_IP": "1000/minute",
        **settings,
    }
    with running_server(
        f"sqlite:///{tmp_path / 'orderdesk.db'}",
        workers=2,
        media_dir=tmp_path / "media",
        extra_args=("--demo",),
        env_extra=env,
    ) as base:
        yield base


def admitted(response: httpx.Response) -> bool:
    body = response.json()
    assert body.get("success") is True or body.get("error") == "RATE_LIMIT_EXCEEDED", body
    return body.get("success") is True


async def admitted_on_fresh_connections(base: str, headers: dict[str, str]) -> int:
    """How many of REQUESTS get past the budget, each on a connection of its own.

    Waves of concurrent connections keep both workers accepting; one request at a time would
    often find the same worker idle and first to accept.
    """

    async def one() -> bool:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            return admitted(await client.get(PATH, headers=headers))

    count = 0
    for _ in range(REQUESTS // WAVE):
        count += sum(await asyncio.gather(*(one() for _ in range(WAVE))))
    return count


async def admitted_on_one_connection(base: str, headers: dict[str, str]) -> int:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        return sum(
            [admitted(await client.get(PATH, headers=headers)) for _ in range(REQUESTS // 2)]
        )


async def test_two_workers_with_memory_storage_admit_at_most_the_budget(tmp_path: Path) -> None:
    with serving(tmp_path) as base:
        fresh = await admitted_on_fresh_connections(base, API_KEY)
        kept_alive = await admitted_on_one_connection(base, CLIENT)
    assert fresh <= BUDGET, f"{fresh} admitted: the workers granted more than the budget"
    # More than one worker's half proves that both workers admitted requests.
    assert fresh > BUDGET // 2, f"only {fresh} admitted: did one worker take them all?"
    assert kept_alive == BUDGET // 2


async def test_two_workers_with_redis_storage_admit_exactly_the_budget(
    tmp_path: Path, redis_prefix: str
) -> None:
    with serving(
        tmp_path, ORDERDESK_RATE_LIMIT_STORAGE=REDIS_URL, ORDERDESK_RATE_LIMIT_PREFIX=redis_prefix
    ) as base:
        fresh = await admitted_on_fresh_connections(base, API_KEY)
        kept_alive = await admitted_on_one_connection(base, CLIENT)
    assert fresh == BUDGET
    assert kept_alive == BUDGET
