"""Requests that only read are not held up by a transaction that writes."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from tests.factories import login, make_partner

from orderdesk.http.state import AppState


async def test_a_read_request_does_not_wait_for_an_open_write_transaction(
    client: httpx.AsyncClient, state: AppState
) -> None:
    """On SQLite a writer holds the one write lock until it commits; reads used to start with
    BEGIN IMMEDIATE too and queued behind it. Now they read beside it."""
    partner = await make_partner(state)
    headers = await login(client, partner)
    async with state.transaction() as session:
        await session.execute(text("UPDATE locations SET title = title WHERE id < 0"))
        # The write transaction is open (and on SQLite holds the write lock) while these run.
        answers = await asyncio.wait_for(
            asyncio.gather(
                client.get("/partner/store/list", headers=headers),
                client.get("/partner/slots/free", params={"store_id": partner.stores[0]}),
                client.get("/partner/order/list", headers=headers),
            ),
            timeout=5,
        )
    assert [a.status_code for a in answers] == [200, 200, 200]
