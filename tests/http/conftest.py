"""Redis for the request-budget tests: reached at ``ORDERDESK_TEST_REDIS_URL``, skipped with
the reason when it does not answer, and cleaned of each test's own keys only."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

REDIS_URL = os.environ.get("ORDERDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; only its keys are deleted afterwards."""
    import coredis

    client: Any = coredis.Redis.from_url(
        REDIS_URL, decode_responses=True, connect_timeout=1, stream_timeout=1
    )
    try:
        await client.ping()
    except (coredis.exceptions.RedisError, OSError) as exc:
        client.connection_pool.disconnect()
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc.__class__.__name__}: {exc})")
    prefix = f"test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        keys = [k async for k in client.scan_iter(match=f"*/{prefix}/*")]
        if keys:
            await client.delete(keys)
        client.connection_pool.disconnect()


async def redis_keys(prefix: str) -> list[str]:
    import coredis

    client: Any = coredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        return [k async for k in client.scan_iter(match=f"*/{prefix}/*")]
    finally:
        client.connection_pool.disconnect()
