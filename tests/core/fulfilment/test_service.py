"""Which location delivers an address, at what fee; and address lookup with a geocoder."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from tests.core.fulfilment.support import (
    CENTRALE,
    DUOMO,
    FakeGeocoder,
    add_places,
    add_zone,
    make_restaurant,
)

from orderdesk.core.errors import GeocoderUnavailable
from orderdesk.core.fulfilment.geocoder import HttpGeocoder
from orderdesk.core.fulfilment.models import Place
from orderdesk.core.fulfilment.service import locate_address, resolve_place, zone_rules
from orderdesk.core.organizations.models import Location, Organization

CENTRO_POLYGON = [[45.47, 9.17], [45.47, 9.21], [45.45, 9.21], [45.45, 9.17]]
MONZA = (45.5845, 9.2744)
SESTO_SOUTH = (45.5086, 9.2224)


def milano(lat_lng: tuple[float, float]) -> dict[str, Any]:
    return {
        "lat": lat_lng[0],
        "lng": lat_lng[1],
        "address": "x",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
        "country": "IT",
    }


@pytest.fixture
async def restaurant(session: AsyncSession) -> tuple[Organization, dict[str, Location]]:
    """Centro (at the Duomo) serves a central polygon, then 6 km around it; Monza serves
    10 km around Monza. Zone positions deliberately differ from insertion order."""
    org, locations = await make_restaurant(
        session, {"centro": milano(DUOMO), "monza": milano(MONZA)}
    )
    await add_zone(
        session, org, locations["centro"], "Fuori", position=2, fee=450, order_min=2000, radius_km=6
    )
    await add_zone(
        session,
        org,
        locations["centro"],
        "Centro",
        position=1,
        fee=250,
        order_min=1500,
        polygon=CENTRO_POLYGON,
    )
    await add_zone(
        session,
        org,
        locations["monza"],
        "Brianza",
        position=3,
        fee=300,
        order_min=1000,
        radius_km=10,
    )
    return org, locations


async def place_at(session: AsyncSession, lat: float, lng: float) -> Place:
    [place] = await add_places(
        session, {"street": "Via Test", "number": "1", "city": "Milano", "lat": lat, "lng": lng}
    )
    return place


async def test_zone_rules_are_in_position_order_with_location_centers(
    session: AsyncSession, restaurant: tuple[Organization, dict[str, Location]]
) -> None:
    org, locations = restaurant
    rules = await zone_rules(session, org.id)
    assert [r.name for r in rules] == ["Centro", "Fuori", "Brianza"]
    assert [r.location_key for r in rules] == [
        locations["centro"].key,
        locations["centro"].key,
        locations["monza"].key,
    ]
    assert rules[0].polygon == [(45.47, 9.17), (45.47, 9.21), (45.45, 9.21), (45.45, 9.17)]
    assert rules[1].radius_km == 6 and rules[1].center == DUOMO
    assert rules[2].center == MONZA


async def test_zone_rules_of_another_organization_are_not_seen(
    session: AsyncSession, restaurant: tuple[Organization, dict[str, Location]]
) -> None:
    other, _ = await make_restaurant(session, {"solo": milano(DUOMO)})
    assert await zone_rules(session, other.id) == []


async def test_resolve_place_picks_the_first_zone_and_its_location(
    session: AsyncSession, restaurant: tuple[Organization, dict[str, Location]]
) -> None:
    org, locations = restaurant
    place = await place_at(session, 45.46, 9.19)  # inside Centro and within 6 km
    resolved = await resolve_place(session, org.id, place)
    assert resolved is not None
    assert (resolved.zone_name, resolved.fee, resolved.order_min) == ("Centro", 250, 1500)
    assert (resolved.location_id, resolved.location_key) == (
        locations["centro"].id,
        locations["centro"].key,
    )
    assert resolved.place is place


async def test_resolve_place_outside_the_polygon_falls_to_the_radius_zone(
    session: AsyncSession, restaurant: tuple[Organization, dict[str, Location]]
) -> None:
    org, _ = restaurant
    resolved = await resolve_place(session, org.id, await place_at(session, *CENTRALE))
    assert resolved is not None
    assert (resolved.zone_name, resolved.fee, resolved.order_min) == ("Fuori", 450, 2000)
    assert resolved.kms == 2.62


async def test_resolve_place_served_by_the_other_location_measures_from_it(
    session: AsyncSession, restaurant: tuple[Organization, dict[str, Location]]
) -> None:
    org, locations = restaurant
    villasanta = await place_at(session, 45.6060, 9.3070)
    resolved = await resolve_place(session, org.id, villasanta)
    assert resolved is not None
    assert (resolved.zone_name, resolved.location_key) == ("Brianza", locations["monza"].key)
    assert 3.0 < resolved.kms < 4.0
    assert resolved.kms == round(resolved.kms, 2)


async def test_resolve_place_restricted_to_a_location(
    session: AsyncSession, restaurant: tuple[Organization, dict[str, Location]]
) -> None:
    org, locations = restaurant
    between = await place_at(session, *SESTO_SOUTH)  # within 6 km of Centro and 10 of Monza
    anywhere = await resolve_place(session, org.id, between)
    assert anywhere is not None
    assert anywhere.zone_name == "Fuori"
    assert anywhere.kms == pytest.approx(5.5, abs=0.1)
    resolved = await resolve_place(session, org.id, between, location_key=locations["monza"].key)
    assert resolved is not None
    assert (resolved.zone_name, resolved.location_key) == ("Brianza", locations["monza"].key)
    assert resolved.kms == pytest.approx(9.4, abs=0.1)
    assert (
        await resolve_place(
            session, org.id, await place_at(session, *DUOMO), location_key=locations["monza"].key
        )
        is None
    )
    assert await resolve_place(session, org.id, between, location_key="no-such-location") is None


async def test_resolve_place_outside_every_zone_is_none(
    session: AsyncSession, restaurant: tuple[Organization, dict[str, Location]]
) -> None:
    org, _ = restaurant
    assert await resolve_place(session, org.id, await place_at(session, 45.0703, 7.6869)) is None


async def test_location_without_position_still_serves_its_polygon(
    session: AsyncSession,
) -> None:
    org, locations = await make_restaurant(session, {"nowhere": {}})
    await add_zone(
        session, org, locations["nowhere"], "Poly", position=0, fee=100, polygon=CENTRO_POLYGON
    )
    await add_zone(session, org, locations["nowhere"], "Ring", position=1, radius_km=50)
    resolved = await resolve_place(session, org.id, await place_at(session, 45.46, 9.19))
    assert resolved is not None
    assert (resolved.zone_name, resolved.kms) == ("Poly", 0.0)
    assert await resolve_place(session, org.id, await place_at(session, *CENTRALE)) is None


async def test_locate_address_prefers_the_gazetteer(
    session: AsyncSession,
    restaurant: tuple[Organization, dict[str, Location]],
    fake_geocoder: FakeGeocoder,
) -> None:
    org, _ = restaurant
    await add_places(
        session,
        {
            "place_id": "via-roma-1-milano",
            "street": "Via Roma",
            "number": "1",
            "city": "Milano",
            "zip": "20121",
        },
    )
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        place = await locate_address(session, org.id, geocoder=geocoder, text="V. Roma, 1 Milano")
    assert place is not None
    assert place.place_id == "via-roma-1-milano"
    assert fake_geocoder.requests == []


async def test_locate_address_geocodes_and_remembers(
    session: AsyncSession,
    restaurant: tuple[Organization, dict[str, Location]],
    fake_geocoder: FakeGeocoder,
) -> None:
    org, _ = restaurant
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        place = await locate_address(session, org.id, geocoder=geocoder, text="via Roma 1, Milano")
        assert place is not None
        assert place.place_id.startswith("geo-")
        again = await locate_address(
            session, org.id, geocoder=geocoder, text="Via Roma n. 1 Milano"
        )
    assert again is not None and again.place_id == place.place_id
    assert len(fake_geocoder.requests) == 1  # the second lookup came from the gazetteer
    assert fake_geocoder.requests[0][1]["countrycodes"] == "it"  # the locations' country
    resolved = await resolve_place(session, org.id, place)
    assert resolved is not None and resolved.zone_name == "Centro"


async def test_locate_address_keeps_the_customers_number_for_a_street_level_result(
    session: AsyncSession,
    restaurant: tuple[Organization, dict[str, Location]],
    fake_geocoder: FakeGeocoder,
) -> None:
    org, _ = restaurant
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        from_text = await locate_address(
            session, org.id, geocoder=geocoder, text="C.so Garibaldi 7/b, Milano"
        )
        structured = await locate_address(
            session,
            org.id,
            geocoder=geocoder,
            street="Corso Garibaldi",
            number="n. 9",
            city="Milano",
        )
    assert from_text is not None and structured is not None
    assert (from_text.street, from_text.number) == ("Corso Garibaldi", "7B")
    assert (structured.street, structured.number) == ("Corso Garibaldi", "9")
    assert from_text.place_id != structured.place_id


async def test_locate_address_without_geocoder_or_result_is_none(
    session: AsyncSession,
    restaurant: tuple[Organization, dict[str, Location]],
    fake_geocoder: FakeGeocoder,
) -> None:
    org, _ = restaurant
    assert await locate_address(session, org.id, geocoder=None, text="via Roma 1 Milano") is None
    async with HttpGeocoder(fake_geocoder.base_url + "/nominatim") as geocoder:
        assert (
            await locate_address(session, org.id, geocoder=geocoder, text="Nowhere 9, Atlantis")
            is None
        )


async def test_locate_address_with_geocoder_down_raises(
    session: AsyncSession,
    restaurant: tuple[Organization, dict[str, Location]],
    fake_geocoder: FakeGeocoder,
) -> None:
    org, _ = restaurant
    async with HttpGeocoder(fake_geocoder.base_url + "/broken") as geocoder:
        with pytest.raises(GeocoderUnavailable):
            await locate_address(session, org.id, geocoder=geocoder, text="via Roma 1 Milano")
