"""``ORDERDESK_GEOCODER_URL``: addresses missing from the gazetteer are geocoded by a
Nominatim-compatible server (a real local fake), remembered, and orderable by ``place_id``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.core.fulfilment.support import FakeGeocoder
from tests.factories import make_restaurant

from orderdesk.app import create_app
from orderdesk.db.engine import create_engine
from orderdesk.db.migrate import migrate
from orderdesk.http.state import AppState
from orderdesk.settings import Settings


@pytest.fixture
async def geocoder() -> AsyncIterator[FakeGeocoder]:
    fake = FakeGeocoder()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield fake
    finally:
        fake.release.set()
        server.close()
        await server.wait_closed()


async def test_configured_geocoder_resolves_and_remembers_an_address(
    tmp_path: Path, geocoder: FakeGeocoder
) -> None:
    url = f"sqlite:///{tmp_path / 'geo.db'}"
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    app = create_app(
        Settings(
            database_url=url,
            media_dir=tmp_path / "media",
            geocoder_url=f"{geocoder.base_url}/nominatim",
        ),
        background=False,
    )
    async with app.router.lifespan_context(app):
        state: AppState = app.state.orderdesk
        restaurant = await make_restaurant(state)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            found = await client.post(
                "/api/order/validate_address",
                headers=restaurant.client_headers,
                json={"address": "Via Roma 1, Milano"},
            )
            data = found.json()["data"]
            assert data["address"]["place_id"].startswith("geo-")
            assert (data["address"]["street"], data["address"]["number"]) == ("Via Roma", "1")
            assert data["subrestaurant_uid"] == restaurant.locations[0]
            assert data["delivery_fee"] == 2.5
            assert ("/nominatim/search") in geocoder.paths()

            again = await client.post(
                "/api/order/validate_address",
                headers=restaurant.client_headers,
                json={"street": "via roma", "number": "1", "city": "milano"},
            )
            assert again.json()["data"]["address"]["place_id"] == data["address"]["place_id"]
            assert geocoder.paths().count("/nominatim/search") == 1  # remembered, not asked again

            nowhere = await client.post(
                "/api/order/validate_address",
                headers=restaurant.client_headers,
                json={"address": "Nessuna Strada 99, Atlantide"},
            )
            assert nowhere.json() == {
                "success": False,
                "error": "INVALID_ADDRESS",
                "message": nowhere.json()["message"],
            }


async def test_unreachable_geocoder_is_a_clear_error_not_a_500(
    tmp_path: Path, geocoder: FakeGeocoder
) -> None:
    url = f"sqlite:///{tmp_path / 'geo.db'}"
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    app = create_app(
        Settings(
            database_url=url,
            media_dir=tmp_path / "media",
            geocoder_url=f"{geocoder.base_url}/broken",
        ),
        background=False,
    )
    async with app.router.lifespan_context(app):
        restaurant = await make_restaurant(app.state.orderdesk)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.post(
                "/api/order/validate_address",
                headers=restaurant.client_headers,
                json={"address": "Via Roma 1, Milano"},
            )
    assert answer.status_code == 200
    assert answer.json()["success"] is False
    assert answer.json()["error"] == "INTERNAL_ERROR"
    assert "address" in answer.json()["message"]
