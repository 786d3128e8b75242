"""The geocoding adapter against a real HTTP server on 127.0.0.1, and remembered places."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.core.fulfilment.support import FakeGeocoder
from tests.servers import free_port

from orderdesk.core.errors import DomainError, GeocoderUnavailable
from orderdesk.core.fulfilment.gazetteer import find_place
from orderdesk.core.fulfilment.geocoder import (
    GeocodedAddress,
    HttpGeocoder,
    geo_place_id,
    remember,
)
from orderdesk.core.fulfilment.models import Place

ROMA_1 = GeocodedAddress(
    street="Via Roma",
    number="1",
    city="Milano",
    province="MI",
    zip="20121",
    country="IT",
    lat=45.4642,
    lng=9.19,
)


async def test_nominatim_result_is_parsed(fake_geocoder: FakeGeocoder) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        found = await geocoder.geocode("via Roma 1, Milano", language="it", countries=["IT"])
        assert geocoder.flavour == "nominatim"
    assert found == ROMA_1
    path, params = fake_geocoder.requests[0]
    assert path == "/nominatim/search"
    assert (params["q"], params["countrycodes"], params["accept-language"]) == (
        "via Roma 1, Milano",
        "it",
        "it",
    )


async def test_photon_is_detected_and_then_asked_directly(fake_geocoder: FakeGeocoder) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + "/photon") as geocoder:
        first = await geocoder.geocode("via Roma 1 Milano", countries=["IT"])
        assert geocoder.flavour == "photon"
        second = await geocoder.geocode("via Roma 1 Milano", countries=["it"])
    expected = GeocodedAddress(
        street="Via Roma",
        number="1",
        city="Milano",
        province="Milano",
        zip="20121",
        country="IT",
        lat=45.4642,
        lng=9.19,
    )
    assert first == second == expected
    assert fake_geocoder.paths() == ["/photon/search", "/photon/api", "/photon/api"]


async def test_photon_without_country_filter_takes_the_first_feature(
    fake_geocoder: FakeGeocoder,
) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + "/photon/api") as geocoder:
        found = await geocoder.geocode("rome 1")
    assert found is not None
    assert (found.street, found.city, found.country, found.lat, found.lng) == (
        "Rue de Rome",
        "Paris",
        "FR",
        48.85,
        2.35,
    )
    assert fake_geocoder.paths() == ["/photon/api"]


async def test_not_found_is_none(fake_geocoder: FakeGeocoder) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        assert await geocoder.geocode("nowhere street 9") is None
    async with HttpGeocoder(fake_geocoder.base_url + "/photon") as geocoder:
        assert await geocoder.geocode("nowhere street 9") is None


async def test_city_level_result_is_not_an_address(fake_geocoder: FakeGeocoder) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        assert await geocoder.geocode("Milano") is None


async def test_blank_query_asks_nothing(fake_geocoder: FakeGeocoder) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        assert await geocoder.geocode("  ") is None
    assert fake_geocoder.requests == []


@pytest.mark.parametrize("prefix", ["/broken", "/garbage", "/odd", "/missing"])
async def test_server_errors_and_foreign_answers_are_unavailable(
    fake_geocoder: FakeGeocoder, prefix: str
) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + prefix) as geocoder:
        with pytest.raises(GeocoderUnavailable):
            await geocoder.geocode("via Roma 1 Milano")


async def test_server_slower_than_the_timeout_is_unavailable(
    fake_geocoder: FakeGeocoder,
) -> None:
    async with HttpGeocoder(fake_geocoder.base_url + "/hang", timeout=0.2) as geocoder:
        with pytest.raises(GeocoderUnavailable, match="in time"):
            await geocoder.geocode("via Roma 1 Milano")
    assert fake_geocoder.paths() == ["/hang/search"]


async def test_unreachable_server_is_unavailable() -> None:
    async with HttpGeocoder(f"http://127.0.0.1:{free_port()}") as geocoder:
        with pytest.raises(GeocoderUnavailable) as raised:
            await geocoder.geocode("via Roma 1 Milano")
    assert isinstance(raised.value, DomainError)


async def test_callers_client_is_used_and_left_open(fake_geocoder: FakeGeocoder) -> None:
    async with httpx.AsyncClient() as client:
        async with HttpGeocoder(fake_geocoder.base_url + "/nominatim", client) as geocoder:
            assert await geocoder.geocode("via Roma 1") == ROMA_1
        assert not client.is_closed


def test_place_id_is_deterministic_and_ignores_coordinates_and_spelling() -> None:
    moved = GeocodedAddress(
        street="VIA ROMA",
        number="1",
        city="milano",
        province="",
        zip="20121",
        country="IT",
        lat=45.0,
        lng=9.0,
    )
    assert geo_place_id(ROMA_1) == geo_place_id(moved)
    assert geo_place_id(ROMA_1).startswith("geo-")
    assert len(geo_place_id(ROMA_1)) == 20
    assert geo_place_id(ROMA_1) != geo_place_id(replace(ROMA_1, number="3"))


async def test_remember_is_idempotent(session: AsyncSession) -> None:
    first = await remember(session, ROMA_1)
    second = await remember(session, ROMA_1)
    assert first.place_id == second.place_id == geo_place_id(ROMA_1)
    count = await session.scalar(
        select(func.count()).select_from(Place).where(Place.place_id == first.place_id)
    )
    assert count == 1
    assert (
        second.street,
        second.number,
        second.city,
        second.province,
        second.zip,
        second.country,
        second.lat,
        second.lng,
    ) == ("Via Roma", "1", "Milano", "MI", "20121", "IT", 45.4642, 9.19)


async def test_remember_updates_moved_coordinates(session: AsyncSession) -> None:
    await remember(session, ROMA_1)
    moved = GeocodedAddress("Via Roma", "1", "Milano", "MI", "20121", "IT", 45.4650, 9.1910)
    place = await remember(session, moved)
    assert (place.place_id, place.lat, place.lng) == (geo_place_id(ROMA_1), 45.4650, 9.1910)


async def test_remembered_place_is_found_by_the_gazetteer(session: AsyncSession) -> None:
    remembered = await remember(session, ROMA_1)
    found = await find_place(session, text="V. Roma 1, Milano")
    assert found is not None
    assert found.place_id == remembered.place_id
