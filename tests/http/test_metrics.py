"""``GET /metrics``: Prometheus text, labelled by route template, summed over worker processes.

In process the counters live in the test process's default registry, shared by every test, so
these tests compare a scrape before and after their own requests. The process test runs a real
``orderdesk serve --workers 2`` and checks that whichever worker answers the scrape reports the
requests, orders, refusals and webhook deliveries of both.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import FakeClock, fresh_database
from tests.core.events.conftest import Receiver
from tests.dialects.partner.orders_support import local_day
from tests.dialects.restaurant.order_support import (
    NOW,
    coupon_code,
    create,
    create_ok,
    failed,
    pickup_body,
    restaurant,
    set_locations,
)
from tests.factories import PASSWORD, PartnerSetup, item_doc, order_body, restaurant_doc
from tests.servers import running_server
from tests.webhook_stack import stack_on

from orderdesk.core.events.dispatcher import RETRY_WINDOW
from orderdesk.http.state import AppState

Labels = dict[str, str]


def samples(text: str, name: str) -> list[tuple[Labels, float]]:
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def total(text: str, name: str, match: Callable[[Labels], bool] = lambda _: True) -> float:
    return sum(value for labels, value in samples(text, name) if match(labels))


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def route_is(route: str, method: str = "GET") -> Callable[[Labels], bool]:
    return lambda labels: labels.get("route") == route and labels.get("method") == method


# --------------------------------------------------------------------------------------------
# In process


async def test_requests_are_labelled_by_route_template_never_by_raw_path(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    order_id = secrets.randbelow(10**9) + 10**9
    await client.get(f"/partner/order/{order_id}")
    await client.get(f"/partner/v1/order/{order_id}")
    await client.get(f"/no/such/path/{order_id}")
    await client.get("/health")
    after = await scrape(client)

    name = "orderdesk_http_requests_total"
    for route in ("/partner/order/{order_id}", "/partner/v1/order/{order_id}", "<unmatched>"):
        assert total(after, name, route_is(route)) - total(before, name, route_is(route)) == 1
    health = route_is("/health")
    assert (
        total(after, name, lambda x: health(x) and x["status"] == "200")
        - total(before, name, lambda x: health(x) and x["status"] == "200")
        == 1
    )
    assert str(order_id) not in after
    latency = "orderdesk_http_request_duration_seconds_count"
    assert total(after, latency, health) - total(before, latency, health) == 1


async def test_invented_methods_share_one_label(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await client.request(f"BREW{n}", "/health")
    text = await scrape(client)
    methods = {labels["method"] for labels, _ in samples(text, "orderdesk_http_requests_total")}
    assert "OTHER" in methods
    assert not any(m.startswith("BREW") for m in methods)


async def test_metrics_answer_in_text_and_stay_out_of_the_api_document(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    text = await scrape(client)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"orderdesk_db_pool_size", "orderdesk_db_pool_checked_out"} <= names
    assert "orderdesk_outbox_lag_seconds" in names
    assert "/metrics" not in app.openapi()["paths"]
    # The scrape's own outbox query has given its connection back before the text is made.
    assert samples(text, "orderdesk_db_pool_checked_out") == [({}, 0.0)]
    assert samples(text, "orderdesk_db_pool_size") == [({}, 10.0)]


async def test_a_multiprocess_directory_named_later_does_not_hide_this_process_counts(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An in-process ``serve`` exports the variable for its workers; the counters of this
    process stay in memory, where the scrape must still find them."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    await client.get("/health")
    assert total(await scrape(client), "orderdesk_http_requests_total", route_is("/health")) >= 1


async def test_outbox_lag_is_the_age_of_the_oldest_waiting_event(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    clock.set(NOW)
    r = await restaurant(state)
    await create_ok(client, r, pickup_body(r))  # its events wait: no dispatcher runs here
    clock.advance(seconds=90)
    (lag,) = samples(await scrape(client), "orderdesk_outbox_lag_seconds")
    assert lag[1] >= 90


async def test_orders_and_refusals_are_counted_by_dialect_and_reason(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    clock.set(NOW)
    r = await restaurant(state, set_locations(orders_per_slot=1))
    restaurant_only: Callable[[Labels], bool] = lambda x: x["dialect"] == "restaurant"  # noqa: E731

    def reason(value: str) -> Callable[[Labels], bool]:
        return lambda x: restaurant_only(x) and x["reason"] == value

    before = await scrape(client)
    last = coupon_code(r, "LAST")
    await create_ok(client, r, pickup_body(r, coupon={"code": last}))
    failed(await create(client, r, pickup_body(r)), "VALIDATION_ERROR", "pickup.date")
    later = "2031-03-10 12:00:00"
    failed(
        await create(client, r, pickup_body(r, when=later, coupon={"code": last})),
        "COUPON_ERROR",
        "coupon",
    )
    failed(
        await create(client, r, pickup_body(r, when=later, coupon={"code": "NO-SUCH"})),
        "COUPON_ERROR",
        "coupon",
    )
    after = await scrape(client)

    def delta(name: str, match: Callable[[Labels], bool]) -> float:
        return total(after, name, match) - total(before, name, match)

    assert delta("orderdesk_orders_created_total", restaurant_only) == 1
    assert delta("orderdesk_bookings_refused_total", reason("slot_full")) == 1
    assert delta("orderdesk_coupons_refused_total", reason("no_uses_left")) == 1
    assert delta("orderdesk_coupons_refused_total", reason("invalid")) == 1


async def test_webhook_attempts_are_counted_by_the_state_they_leave(tmp_path: Path) -> None:
    """A receiver down for more than the retry window: retries, then dead; back up: delivered.
    On a database of its own, so that no other test's deliveries are attempted."""
    clock = FakeClock()
    async with (
        fresh_database("sqlite", tmp_path) as url,
        stack_on(url, tmp_path / "media", clock) as stack,
    ):
        before = await scrape(stack.client)
        r, _ = await stack.restaurant()
        await stack.receiver.go_down()
        await stack.restaurant_order(r)
        await stack.drain(until=clock() + RETRY_WINDOW + timedelta(hours=2))
        await stack.receiver.come_up()
        await stack.restaurant_order(r, slot=1)
        await stack.drain()
        after = await scrape(stack.client)

    def delta(state: str) -> float:
        def match(labels: Labels) -> bool:
            return labels["state"] == state

        name = "orderdesk_webhook_deliveries_total"
        return total(after, name, match) - total(before, name, match)

    assert delta("retry") > 0
    assert delta("dead") > 0
    assert delta("delivered") > 0


# --------------------------------------------------------------------------------------------
# orderdesk serve --workers 2

REQUESTS = 40
WAVE = 8


def partner_document(name: str) -> tuple[dict[str, Any], PartnerSetup]:
    """A partner with one master per timeslot, so a second booking of a slot is refused."""
    login = f"api@{name}.example"
    item = item_doc("PAX wardrobe 150x236")
    store = {
        "id": f"{name}-store",
        "title": f"Store of {name}",
        "timezone": "Europe/Riga",
        "masters": {"0712": 1, "1217": 1, "1721": 1},
    }
    section = {
        "name": name,
        "title": f"Partner {name}",
        "users": [{"login": login, "password": PASSWORD}],
        "stores": [store],
    }
    setup = PartnerSetup(name, login, PASSWORD, [store["id"]], [item["id"]], {})
    return {"partners": [section], "items": [item]}, setup


def apply_setup(document: dict[str, Any], path: Path, database_url: str) -> None:
    path.write_text(json.dumps(document))
    subprocess.run(
        [sys.executable, "-m", "orderdesk", "apply", str(path), "--database-url", database_url],
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def spread(base: str, paths: list[str]) -> None:
    """Each request on a fresh connection, in concurrent waves, so both workers take some."""

    async def one(path: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            await c.get(path)

    for start in range(0, len(paths), WAVE):
        await asyncio.gather(*(one(p) for p in paths[start : start + WAVE]))


def pool_pids(text: str) -> set[str]:
    """The worker processes that report their pools: one per live worker."""
    return {labels["pid"] for labels, _ in samples(text, "orderdesk_db_pool_size")}


async def scrape_until(base: str, ready: Callable[[str], bool], within: float = 60.0) -> str:
    deadline = time.monotonic() + within
    while True:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            text = await scrape(c)
        if ready(text) or time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.25)


@pytest.mark.processes
async def test_two_workers_report_one_sum_of_everything(tmp_path: Path) -> None:
    receiver = Receiver(lambda: datetime.now(UTC))
    await receiver.start()
    try:
        secret = "whsec-metrics-0123"
        r_doc = restaurant_doc(
            webhooks=[{"url": receiver.endpoint("restaurant", secret), "secret": secret}]
        )
        p_doc, partner = partner_document(f"partner-{secrets.token_hex(4)}")
        url = f"sqlite:///{tmp_path / 'orderdesk.db'}"
        apply_setup({"version": 1, "restaurants": [r_doc], **p_doc}, tmp_path / "setup.json", url)
        last = next(c["code"] for c in r_doc["coupons"] if c["code"].startswith("LAST"))
        restaurant_order = {
            "client": {
                "first_name": "Anna",
                "last_name": "Rossi",
                "email": "anna@example.com",
                "phone": "02 1234567",
            },
            "dmethod": "0t",
            "payment_method": "cash",
            "payment_method_sub": "cash",
            "subrestaurant_uid": r_doc["subrestaurants"][0]["uid"],
            "details": [{"product": {"uid": f"{r_doc['uid']}-acqua"}, "quantity": 1}],
        }
        client_headers = {
            "X-Client-Id": r_doc["clients"][0]["client_id"],
            "X-Client-Secret": r_doc["clients"][0]["client_secret"],
        }

        with running_server(url, workers=2, media_dir=tmp_path / "media") as base:
            await spread(base, [f"/partner/order/{n}" for n in range(REQUESTS)])
            async with httpx.AsyncClient(base_url=base, timeout=60) as c:
                token = await c.post(
                    "/partner/auth/authorize",
                    json={"login": partner.login, "password": partner.password},
                )
                headers = {"token": token.json()["data"]["token"]}
                body = order_body(partner, [(local_day(datetime.now(UTC), 3), "1217")])
                booked = await c.post("/partner/order/create", headers=headers, json=body)
                assert booked.status_code == 200, booked.text
                refused = await c.post("/partner/order/create", headers=headers, json=body)
                assert refused.status_code == 422, refused.text
                coupon = {**restaurant_order, "coupon": {"code": last}}
                first = await c.post("/api/order/create", headers=client_headers, json=coupon)
                assert first.json()["success"] is True, first.text
                second = await c.post("/api/order/create", headers=client_headers, json=coupon)
                assert second.json()["error"] == "COUPON_ERROR", second.text

            def delivered(text: str) -> bool:
                return total(text, "orderdesk_webhook_deliveries_total") > 0

            text = await scrape_until(base, delivered)
            # Every scrape, answered by either worker, shows the same sums.
            again = await scrape_until(base, lambda _: True)

            # A worker killed outright: uvicorn starts another, the dead one's pool gauges go,
            # its counts stay.
            victim = sorted(pool_pids(text))[0]
            os.kill(int(victim), signal.SIGKILL)

            def replaced(scraped: str) -> bool:
                pids = pool_pids(scraped)
                return victim not in pids and len(pids) == 2

            after_crash = await scrape_until(base, replaced)
    finally:
        await receiver.close()

    assert replaced(after_crash), samples(after_crash, "orderdesk_db_pool_size")
    for scraped in (text, again, after_crash):
        name = "orderdesk_http_requests_total"
        assert total(scraped, name, route_is("/partner/order/{order_id}")) == REQUESTS
    orders = "orderdesk_orders_created_total"
    assert total(text, orders, lambda x: x["dialect"] == "partner") == 1
    assert total(text, orders, lambda x: x["dialect"] == "restaurant") == 1
    assert (
        total(
            text,
            "orderdesk_bookings_refused_total",
            lambda x: x == {"dialect": "partner", "reason": "no_master"},
        )
        == 1
    )
    assert (
        total(
            text,
            "orderdesk_coupons_refused_total",
            lambda x: x == {"dialect": "restaurant", "reason": "no_uses_left"},
        )
        == 1
    )
    assert total(text, "orderdesk_webhook_deliveries_total", lambda x: x["state"] == "delivered")
    pools = samples(text, "orderdesk_db_pool_size")
    assert len(pool_pids(text)) == 2, pools
    assert all(value == 10 for _, value in pools)
    (lag,) = samples(text, "orderdesk_outbox_lag_seconds")
    assert lag[1] >= 0
