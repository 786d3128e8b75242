"""Factories and a fake geocoding server for the fulfilment tests.

The fake geocoder is a real HTTP/1.1 server on 127.0.0.1 built on ``asyncio.start_server``, so the
adapter is exercised through httpx's real transport: connection, status codes, timeouts.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.fulfilment.gazetteer import search_text_for
from orderdesk.core.fulfilment.models import DeliveryZone, Place
from orderdesk.core.organizations.models import Location, Organization

DUOMO = (45.46416, 9.19199)
CENTRALE = (45.48597, 9.20454)


async def add_places(session: AsyncSession, *rows: dict[str, Any]) -> list[Place]:
    """Places as the setup document stores them (same ``search_text``)."""
    places = []
    for row in rows:
        values = {
            "number": "",
            "province": "",
            "zip": "",
            "country": "IT",
            "lat": 0.0,
            "lng": 0.0,
            **row,
        }
        values.setdefault("place_id", f"test-{secrets.token_hex(6)}")
        values["search_text"] = search_text_for(
            values["street"], values["number"], values["city"], values["zip"], values["province"]
        )
        places.append(Place(**values))
    session.add_all(places)
    await session.flush()
    return places


async def make_restaurant(
    session: AsyncSession, locations: dict[str, dict[str, Any]]
) -> tuple[Organization, dict[str, Location]]:
    """A restaurant with sub-locations named by suffix; ``locations`` maps suffix → settings."""
    suffix = secrets.token_hex(4)
    org = Organization(
        kind="restaurant", key=f"resto-{suffix}", title=f"Resto {suffix}", settings={}
    )
    session.add(org)
    await session.flush()
    made = {
        name: Location(
            organization_id=org.id,
            key=f"resto-{suffix}-{name}",
            title=name.title(),
            timezone="Europe/Rome",
            settings=settings,
        )
        for name, settings in locations.items()
    }
    session.add_all(made.values())
    await session.flush()
    return org, made


async def add_zone(
    session: AsyncSession,
    org: Organization,
    location: Location,
    name: str,
    *,
    position: int,
    fee: int = 0,
    order_min: int = 0,
    polygon: list[list[float]] | None = None,
    radius_km: float | None = None,
) -> DeliveryZone:
    zone = DeliveryZone(
        organization_id=org.id,
        location_id=location.id,
        name=name,
        position=position,
        fee=fee,
        order_min=order_min,
        polygon=polygon,
        radius_km=radius_km,
    )
    session.add(zone)
    await session.flush()
    return zone


ROMA_1_NOMINATIM = {
    "place_id": 101,
    "lat": "45.4642",
    "lon": "9.19",
    "category": "place",
    "type": "house",
    "address": {
        "house_number": "1",
        "road": "Via Roma",
        "city": "Milano",
        "county": "Milano",
        "ISO3166-2-lvl6": "IT-MI",
        "state": "Lombardia",
        "postcode": "20121",
        "country": "Italia",
        "country_code": "it",
    },
}
GARIBALDI_STREET_NOMINATIM = {
    "place_id": 102,
    "lat": "45.4771",
    "lon": "9.1843",
    "category": "highway",
    "type": "residential",
    "address": {
        "road": "Corso Garibaldi",
        "city": "Milano",
        "ISO3166-2-lvl6": "IT-MI",
        "postcode": "20121",
        "country_code": "it",
    },
}
MILANO_CITY_NOMINATIM = {
    "place_id": 103,
    "lat": "45.4641",
    "lon": "9.1919",
    "category": "boundary",
    "type": "administrative",
    "address": {"city": "Milano", "country_code": "it"},
}


def photon_feature(lng: float, lat: float, **properties: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lng, lat]},
        "properties": {"osm_key": "place", "osm_value": "house", **properties},
    }


ROMA_1_PHOTON = photon_feature(
    9.19,
    45.4642,
    housenumber="1",
    street="Via Roma",
    city="Milano",
    postcode="20121",
    countrycode="IT",
    state="Lombardia",
    county="Milano",
)
ROMA_1_PARIS_PHOTON = photon_feature(
    2.35,
    48.85,
    housenumber="1",
    street="Rue de Rome",
    city="Paris",
    postcode="75008",
    countrycode="FR",
    state="Île-de-France",
)


@dataclass
class FakeGeocoder:
    """Serves flavours under path prefixes: ``/nominatim``, ``/photon``, ``/broken`` (500),
    ``/hang`` (never answers), ``/garbage`` (not JSON), ``/odd`` (JSON of another shape)."""

    base_url: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, str] | None:
        query = params.get("q", "").casefold()
        if path == "/nominatim/search":
            if params.get("format") != "jsonv2" or params.get("addressdetails") != "1":
                return 400, json.dumps({"error": "format"})
            if "roma" in query:
                return 200, json.dumps([ROMA_1_NOMINATIM])
            if "garibaldi" in query:
                return 200, json.dumps([GARIBALDI_STREET_NOMINATIM])
            if query == "milano":
                return 200, json.dumps([MILANO_CITY_NOMINATIM])
            return 200, "[]"
        if path == "/photon/api":
            features = [ROMA_1_PARIS_PHOTON, ROMA_1_PHOTON] if "rom" in query else []
            return 200, json.dumps({"type": "FeatureCollection", "features": features})
        if path == "/broken/search":
            return 500, "internal error"
        if path == "/hang/search":
            return None
        if path == "/garbage/search":
            return 200, "<html>maintenance</html>"
        if path == "/odd/search":
            return 200, json.dumps({"status": "ok"})
        return 404, "not found"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            target = request_line.decode("latin-1").split(" ")[1]
            parts = urlsplit(target)
            params = dict(parse_qsl(parts.query))
            self.requests.append((parts.path, params))
            answer = self.answer(parts.path, params)
            if answer is None:
                await self.release.wait()
                return
            status, body = answer
            payload = body.encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        finally:
            writer.close()
