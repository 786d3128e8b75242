"""What the console answers outside its pages' own refusals: an address it cannot read, an
unknown page, a form field of the wrong type. Always a page in words, never the APIs' JSON."""

from __future__ import annotations

from fastapi import FastAPI
from tests.conftest import FakeClock
from tests.console.console_http import new_operator, signed_in

from orderdesk.http.state import AppState


async def test_unreadable_addresses_and_forms_answer_with_a_console_page(
    app: FastAPI, state: AppState
) -> None:
    operator = await new_operator(state)
    async with signed_in(app, operator) as (client, csrf):
        for path in ("/console/webhooks/abc", "/console/nowhere", "/console/capacity/x"):
            answer = await client.get(path)
            assert answer.status_code in (404, 405), (path, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html"), path
            assert "<h1>" in answer.text, path
        refused = await client.post(
            "/console/capacity/not-a-number/cell", data={"csrf": csrf, "day": "x", "slot": "y"}
        )
        assert refused.status_code in (400, 404, 422)
        assert refused.headers["content-type"].startswith("text/html")
        assert "<h1>" in refused.text
        # The APIs beside it keep their own error shapes.
        api = await client.get("/partner/nowhere")
        assert api.status_code == 404 and api.headers["content-type"] == "application/json"


async def test_a_session_stays_open_while_used_and_ends_when_left_idle(
    app: FastAPI, state: AppState, clock: FakeClock
) -> None:
    """Idle time runs from the last request, which pages record at most once a minute."""
    operator = await new_operator(state)
    async with signed_in(app, operator) as (client, _):
        for _ in range(3):  # 150 minutes in all, never 60 without a request
            clock.advance(minutes=50)
            assert (await client.get("/console/")).status_code == 200
        clock.advance(minutes=61)
        answer = await client.get("/console/")
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
