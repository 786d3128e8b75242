"""Rate limits per IP and per API credential, through the real app of each dialect.

Each test builds its own app with tiny budgets (the shared test app has limits off), so budgets
never leak between tests; Redis tests use a unique key prefix and delete only their own keys.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from limits import RateLimitItem
from starlette.datastructures import Headers
from tests.factories import login, make_partner, make_restaurant
from tests.http.conftest import REDIS_URL, redis_keys

from orderdesk.app import create_app
from orderdesk.db.engine import create_engine
from orderdesk.db.migrate import migrate
from orderdesk.http.ratelimit import (
    LocalWindows,
    budget_summary,
    credential_key,
    process_budgets,
)
from orderdesk.http.state import AppState
from orderdesk.settings import Settings, SettingsError, load_settings

PARTNER = "/partner/store/list"
RESTAURANT = "/api/account/subrestaurants"
PARTNER_ERROR_KEYS = {"name", "message", "code", "type", "statusCode", "status", "data"}


@pytest.fixture(scope="module")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated SQLite file for this module: the limits do not depend on the database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ratelimit') / 'orderdesk.db'}"
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    return url


@asynccontextmanager
async def limited_app(database_url: str, tmp_path: Path, **settings: Any) -> AsyncIterator[FastAPI]:
    """An app with its lifespan running; budgets default to 5 per minute per IP and client."""
    options: dict[str, Any] = {"rate_limit_ip": "5/minute", "rate_limit_client": "5/minute"}
    options.update(settings)
    app = create_app(
        Settings(database_url=database_url, media_dir=tmp_path / "media", **options),
        background=False,
    )
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def client_at(app: FastAPI, ip: str = "1.2.3.4") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 123))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def statuses(
    client: httpx.AsyncClient, n: int, path: str = PARTNER, headers: dict[str, str] | None = None
) -> list[int]:
    return [(await client.get(path, headers=headers)).status_code for _ in range(n)]


def assert_partner_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert set(body) == PARTNER_ERROR_KEYS
    assert (body["name"], body["code"], body["type"], body["statusCode"], body["status"]) == (
        "TooManyRequestsError",
        429,
        "RATE_LIMIT",
        429,
        "error",
    )
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def test_partner_client_over_the_ip_limit_gets_429_with_retry_after(
    database_url: str, tmp_path: Path
) -> None:
    async with limited_app(database_url, tmp_path, rate_limit_client="100/minute") as app:
        partner = await make_partner(app.state.orderdesk)
        async with client_at(app) as client:
            headers = await login(client, partner)  # one request of the IP's five
            assert await statuses(client, 4, headers=headers) == [200] * 4
            assert_partner_throttled(await client.get(PARTNER, headers=headers))


async def test_restaurant_client_over_the_limit_gets_rate_limit_exceeded_as_http_200(
    database_url: str, tmp_path: Path
) -> None:
    async with limited_app(database_url, tmp_path) as app:
        restaurant = await make_restaurant(app.state.orderdesk)
        async with client_at(app) as client:
            for _ in range(5):
                assert (await client.get(RESTAURANT, headers=restaurant.key_headers)).json()[
                    "success"
                ] is True
            response = await client.get(RESTAURANT, headers=restaurant.key_headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "error", "message"}
    assert (body["success"], body["error"]) == (False, "RATE_LIMIT_EXCEEDED")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def test_different_ips_have_separate_budgets(database_url: str, tmp_path: Path) -> None:
    async with (
        limited_app(database_url, tmp_path, rate_limit_ip="3/minute") as app,
        client_at(app, "1.2.3.4") as first,
        client_at(app, "5.6.7.8") as second,
    ):
        assert await statuses(first, 4) == [401, 401, 401, 429]
        assert await statuses(second, 4) == [401, 401, 401, 429]


async def test_two_credentials_from_one_ip_have_own_budgets_but_share_the_ip_budget(
    database_url: str, tmp_path: Path
) -> None:
    async with limited_app(
        database_url, tmp_path, rate_limit_ip="8/minute", rate_limit_client="3/minute"
    ) as app:
        partner = await make_partner(app.state.orderdesk)
        async with client_at(app) as client:
            alice = await login(client, partner)
            bob = await login(client, partner)  # the IP has spent 2 of 8
            assert await statuses(client, 4, headers=alice) == [200, 200, 200, 429]
            assert "API client" in (await client.get(PARTNER, headers=alice)).json()["message"]
            # Alice is spent, Bob's budget is his own: admitted while the IP has room...
            assert await statuses(client, 1, headers=bob) == [200]
            # ...then refused by the shared IP budget although he used 1 of his 3.
            refused = await client.get(PARTNER, headers=bob)
    assert_partner_throttled(refused)
    assert "IP address" in refused.json()["message"]


async def test_flood_of_invalid_partner_tokens_is_limited_before_authentication(
    database_url: str, tmp_path: Path
) -> None:
    async with limited_app(database_url, tmp_path) as app, client_at(app) as client:
        codes = [
            (await client.get(PARTNER, headers={"token": secrets.token_urlsafe(32)})).status_code
            for _ in range(8)
        ]
    # 429 instead of 401 proves the limit runs before the token is looked up.
    assert codes == [401] * 5 + [429] * 3


async def test_flood_of_invalid_api_keys_is_limited_before_authentication(
    database_url: str, tmp_path: Path
) -> None:
    async with limited_app(database_url, tmp_path) as app, client_at(app) as client:
        errors = [
            (await client.get(RESTAURANT, headers={"X-Api-Key": "guess"})).json()["error"]
            for _ in range(7)
        ]
    assert errors == ["INVALID_KEY"] * 5 + ["RATE_LIMIT_EXCEEDED"] * 2


async def test_guessing_secrets_for_one_client_id_spends_that_clients_budget(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        limited_app(
            database_url, tmp_path, rate_limit_ip="100/minute", rate_limit_client="3/minute"
        ) as app,
        client_at(app) as client,
    ):
        errors = [
            (
                await client.get(
                    RESTAURANT,
                    headers={"X-Client-Id": "victim", "X-Client-Secret": secrets.token_hex(8)},
                )
            ).json()["error"]
            for _ in range(5)
        ]
    assert errors == ["INVALID_AUTH"] * 3 + ["RATE_LIMIT_EXCEEDED"] * 2


async def test_health_and_docs_are_never_limited(database_url: str, tmp_path: Path) -> None:
    async with (
        limited_app(database_url, tmp_path, rate_limit_ip="2/minute") as app,
        client_at(app) as client,
    ):
        assert await statuses(client, 10, "/health") == [200] * 10
        assert await statuses(client, 3, "/openapi.json") == [200] * 3
        assert await statuses(client, 3, PARTNER) == [401, 401, 429]
        assert (await client.get("/health")).status_code == 200


async def test_x_forwarded_for_counts_only_when_proxies_are_trusted(
    database_url: str, tmp_path: Path
) -> None:
    spoofed = [{"X-Forwarded-For": f"9.9.9.{i}"} for i in range(3)]
    async with (
        limited_app(database_url, tmp_path, rate_limit_ip="2/minute") as app,
        client_at(app, "10.0.0.1") as client,
    ):
        codes = [(await client.get(PARTNER, headers=h)).status_code for h in spoofed]
    assert codes == [401, 401, 429]
    async with (
        limited_app(
            database_url, tmp_path, rate_limit_ip="2/minute", rate_limit_trusted_proxies=1
        ) as app,
        client_at(app, "10.0.0.1") as client,
    ):
        # A forged left-most entry is ignored: the proxy's own entry is the right-most.
        forged = {"X-Forwarded-For": "6.6.6.6, 7.7.7.7"}
        assert await statuses(client, 3, headers=forged) == [401, 401, 429]
        codes = [(await client.get(PARTNER, headers=h)).status_code for h in spoofed]
    assert codes == [401, 401, 401]


def test_credential_key_is_a_digest_and_ignores_the_client_secret() -> None:
    token = secrets.token_urlsafe(32)
    key = credential_key(Headers({"token": token}))
    assert key is not None and key.startswith("token:") and token not in key
    bearer = credential_key(Headers({"authorization": f"Bearer {token}"}))
    assert bearer is not None and bearer.startswith("bearer:") and token not in bearer
    one = credential_key(Headers({"x-client-id": "web", "x-client-secret": "a"}))
    two = credential_key(Headers({"x-client-id": "web", "x-client-secret": "b"}))
    assert one == two and one is not None and "web" not in one
    assert credential_key(Headers({"authorization": "Basic abc"})) is None
    assert credential_key(Headers({})) is None


def test_bad_limit_string_is_a_settings_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("ORDERDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ORDERDESK_RATE_LIMIT_IP", "lots per minute")
    with pytest.raises(SettingsError, match=r"^ORDERDESK_RATE_LIMIT_IP: .*lots per minute"):
        load_settings()
    monkeypatch.setenv("ORDERDESK_RATE_LIMIT_IP", "600/minute")
    with pytest.raises(SettingsError, match=r"^ORDERDESK_RATE_LIMIT_STORAGE: "):
        load_settings(rate_limit_storage="nosuch://somewhere")
    assert load_settings(rate_limit_client="10/second;300/minute").rate_limit_enabled


async def test_disabled_limits_never_throttle(database_url: str, tmp_path: Path) -> None:
    async with limited_app(
        database_url, tmp_path, rate_limit_ip="1/minute", rate_limit_enabled=False
    ) as app:
        assert app.state.orderdesk.rate_limiter is None
        async with client_at(app) as client:
            assert await statuses(client, 5) == [401] * 5


# --------------------------------------------------------------------------------------------
# Redis: one budget for several workers, and failing open when it is gone


async def test_two_workers_on_redis_share_one_budget(
    database_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    shared = {
        "rate_limit_storage": REDIS_URL,
        "rate_limit_prefix": redis_prefix,
        "rate_limit_ip": "4/minute",
    }
    token = secrets.token_urlsafe(32)
    async with (
        limited_app(database_url, tmp_path, **shared) as one,
        limited_app(database_url, tmp_path, **shared) as two,
        client_at(one) as first,
        client_at(two) as second,
    ):
        codes = []
        for i in range(6):
            worker = first if i % 2 == 0 else second
            codes.append((await worker.get(PARTNER, headers={"token": token})).status_code)
    assert codes == [401, 401, 401, 401, 429, 429]
    keys = await redis_keys(redis_prefix)
    assert keys, "the budget lives in Redis"
    assert all(token not in key for key in keys)


async def test_unreachable_storage_fails_open_and_warns_once(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with limited_app(
        database_url,
        tmp_path,
        rate_limit_ip="2/minute",
        rate_limit_storage=f"redis://127.0.0.1:{closed_port}/0",
    ) as app:
        state: AppState = app.state.orderdesk
        assert state.rate_limiter is not None
        with caplog.at_level(logging.WARNING, logger="orderdesk.ratelimit"):
            async with client_at(app) as client:
                assert await statuses(client, 6) == [401] * 6
    warnings = [r for r in caplog.records if r.name == "orderdesk.ratelimit"]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()


# --------------------------------------------------------------------------------------------
# Defaults that fit a busy integration, and budgets that N worker processes do not multiply


async def test_defaults_admit_a_burst_of_150_from_one_credential(
    database_url: str, tmp_path: Path
) -> None:
    """150 at once is over 100 a second: a per-second budget of Stripe's size would refuse a
    third of it, the per-minute default takes it whole."""
    app = create_app(
        Settings(database_url=database_url, media_dir=tmp_path / "media"), background=False
    )
    async with app.router.lifespan_context(app):
        partner = await make_partner(app.state.orderdesk)
        async with client_at(app) as client:
            headers = await login(client, partner)
            responses = await asyncio.gather(
                *(client.get(PARTNER, headers=headers) for _ in range(150))
            )
    assert [r.status_code for r in responses] == [200] * 150


def _sustained(budgets: list[RateLimitItem], rate: float, seconds: float) -> int:
    """How many of ``rate`` requests a second for ``seconds`` one process's window refuses."""
    now = 0.0
    windows = LocalWindows(lambda: now)
    refused = 0
    for _ in range(int(rate * seconds)):
        now += 1 / rate
        if any(
            windows.hit(f"budget{i}", item.amount, item.get_expiry()) is not None
            for i, item in enumerate(budgets)
        ):
            refused += 1
    return refused


def test_default_credential_budget_is_100_a_second_sustained_and_no_more() -> None:
    # Just under and just over the rate: exactly 100 a second puts requests on the window's
    # edge, where float rounding of the clock decides.
    per_ip, per_client = process_budgets(Settings())
    assert _sustained(per_client, 99.9, 180) == 0
    assert _sustained(per_client, 100.5, 180) > 0
    # One integration at its full credential budget, twice over (two credentials), fits its IP.
    assert _sustained(per_ip, 199.9, 180) == 0
    assert _sustained(per_ip, 201, 180) > 0


def test_memory_budgets_are_divided_by_the_worker_processes() -> None:
    def amounts(**settings: Any) -> tuple[list[int], list[int]]:
        per_ip, per_client = process_budgets(Settings(**settings))
        return [i.amount for i in per_ip], [i.amount for i in per_client]

    assert amounts(rate_limit_ip="100/minute", rate_limit_client="10/minute") == ([100], [10])
    assert amounts(
        rate_limit_ip="100/minute", rate_limit_client="10/minute", worker_processes=2
    ) == ([50], [5])
    # Rounded down so that the workers together stay within the budget, but never to 0.
    assert amounts(
        rate_limit_ip="5/second;99/minute", rate_limit_client="3/minute", worker_processes=4
    ) == ([1, 24], [1])
    # A shared storage counts once for every worker: nothing to divide.
    assert amounts(
        rate_limit_ip="100/minute",
        rate_limit_client="10/minute",
        worker_processes=2,
        rate_limit_storage=REDIS_URL,
    ) == ([100], [10])
    divided_items = process_budgets(
        Settings(rate_limit_client="10/minute;600/hour", worker_processes=2)
    )[1]
    assert [str(i) for i in divided_items] == ["5 per 1 minute", "300 per 1 hour"]


async def test_two_worker_processes_on_memory_each_admit_half(
    database_url: str, tmp_path: Path
) -> None:
    async with limited_app(
        database_url,
        tmp_path,
        rate_limit_ip="100/minute",
        rate_limit_client="10/minute",
        worker_processes=2,
    ) as app:
        limiter = app.state.orderdesk.rate_limiter
        assert limiter is not None and limiter.storage is None
        async with client_at(app) as client:
            assert await statuses(client, 7, headers={"token": "t" * 43}) == [401] * 5 + [429] * 2


def test_worker_processes_is_a_declared_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` hands the count to its workers through the environment, which orderdesk
    checks for unknown names: the variable must be one it knows."""
    for name in [n for n in os.environ if n.startswith("ORDERDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ORDERDESK_WORKER_PROCESSES", "3")
    assert load_settings().worker_processes == 3
    monkeypatch.setenv("ORDERDESK_WORKER_PROCESSES", "0")
    with pytest.raises(SettingsError, match=r"^ORDERDESK_WORKER_PROCESSES: "):
        load_settings()


def test_serve_tells_its_workers_their_count_and_says_which_mode_is_in_force(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from orderdesk.cli import cli

    for name in [n for n in os.environ if n.startswith("ORDERDESK_")]:
        monkeypatch.delenv(name)
    # Set here so that the test's end restores them: serve writes them for its workers.
    monkeypatch.setenv("ORDERDESK_WORKER_PROCESSES", "1")
    monkeypatch.setenv("ORDERDESK_DATABASE_URL", database_url_of(tmp_path))
    seen: dict[str, Any] = {}

    def run(app: str, **options: Any) -> None:
        seen.update(options, environ=os.environ["ORDERDESK_WORKER_PROCESSES"])
        seen["settings"] = load_settings()  # what a spawned worker builds from the environment

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("ORDERDESK_RATE_LIMIT_CLIENT", "10/minute")
    result = CliRunner().invoke(cli, ["serve", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert (seen["workers"], seen["environ"]) == (3, "3")
    assert [i.amount for i in process_budgets(seen["settings"])[1]] == [3]
    assert "10/minute per API client divided by 3 worker processes" in result.output
    assert "3 per 1 minute per API client in each" in result.output

    monkeypatch.setenv("ORDERDESK_RATE_LIMIT_STORAGE", "redis://:s3cret@127.0.0.1:6379/0")
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "shared by all 2 worker process(es) in redis storage" in result.output
    assert "s3cret" not in result.output


def database_url_of(directory: Path) -> str:
    return f"sqlite:///{directory / 'serve.db'}"


def test_budget_summary_names_the_mode() -> None:
    assert budget_summary(Settings(rate_limit_enabled=False)) == "rate limits: off"
    assert budget_summary(Settings()) == (
        "rate limits: 12000/minute per IP, 6000/minute per "
        "API client, counted in the one worker process "
        "(memory)"
    )
    assert "divided by 4" in budget_summary(Settings(worker_processes=4))


def test_local_windows_retry_after_is_when_the_oldest_leaves_and_idle_keys_are_forgotten() -> None:
    now = 0.0
    windows = LocalWindows(lambda: now)
    for t in (0.0, 10.0, 20.0):
        now = t
        assert windows.hit("a", 3, 60) is None
    now = 30.0
    assert windows.hit("a", 3, 60) == 30.0  # the request at 0 leaves at 60
    now = 60.0
    assert windows.hit("a", 3, 60) is None
    # A flood of one-off keys is forgotten once its requests have left the window.
    for i in range(1000):
        assert windows.hit(f"once-{i}", 3, 60) is None
    assert len(windows) == 1001
    now = 200.0
    for _ in range(300):
        windows.hit("b", 10_000, 60)
    assert len(windows) == 1
