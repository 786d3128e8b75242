"""Geocoding through a Nominatim- or Photon-compatible server (``ORDERDESK_GEOCODER_URL``).

The two flavours are told apart by what the server answers, not by configuration: Nominatim's
``/search?format=jsonv2`` returns a JSON list, Photon's ``/api`` a GeoJSON ``FeatureCollection``.
The first request tries ``/search`` and falls back to ``/api`` when the server has no such path;
the flavour found is kept for the life of the :class:`HttpGeocoder`. A base URL that already
ends in ``/search`` or ``/api`` names its flavour directly.

Guarantees: a server that cannot be reached, is too slow, answers with an error status or with
something that is neither shape raises :class:`GeocoderUnavailable` (a temporary failure, never
"address not found"); a well-formed answer without a street-level result is ``None``.

Results become rows of the ``places`` table (:func:`remember`) so that the ``place_id`` returned
to a client can be used later in order create, and so that the next lookup of the same address
is answered by the gazetteer without a network round trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.search import fold
from orderdesk.core.errors import GeocoderUnavailable
from orderdesk.core.fulfilment.gazetteer import search_text_for
from orderdesk.core.fulfilment.models import Place
from orderdesk.db.base import utcnow
from orderdesk.db.upsert import insert_for

Flavour = Literal["nominatim", "photon"]
_PATHS: dict[Flavour, str] = {"nominatim": "/search", "photon": "/api"}
_RESULTS = 5
USER_AGENT = "orderdesk/0.1 (order intake; geocoding of delivery addresses)"


@dataclass(frozen=True, slots=True)
class GeocodedAddress:
    """A street-level result. ``country`` is ISO 3166-1 alpha-2, upper case, or ``""``."""

    street: str
    number: str
    city: str
    province: str
    zip: str
    country: str
    lat: float
    lng: float


class HttpGeocoder:
    """Client of one geocoding server; safe to share between concurrent requests.

    A ``client`` passed in stays owned by the caller; otherwise one is created on first use and
    closed by :meth:`aclose` (or ``async with``).
    """

    def __init__(
        self, base_url: str, client: httpx.AsyncClient | None = None, timeout: float = 5
    ) -> None:
        base = base_url.rstrip("/")
        self._flavour: Flavour | None = None
        for flavour, path in _PATHS.items():
            if base.endswith(path):
                base, self._flavour = base[: -len(path)], flavour
        self.base_url = base
        self.timeout = timeout
        self._client = client
        self._owns_client = client is None

    @property
    def flavour(self) -> Flavour | None:
        """The server's flavour once known (after the first successful answer)."""
        return self._flavour

    async def __aenter__(self) -> HttpGeocoder:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def geocode(
        self, query: str, *, language: str | None = None, countries: Sequence[str] = ()
    ) -> GeocodedAddress | None:
        """The best street-level result for ``query``, ``None`` when there is none.

        ``countries`` (ISO2) restricts results, e.g. to the countries an organization delivers
        in; ``language`` asks Nominatim for names in that language. Photon is not sent one:
        its instances reject languages they were not built with, which would turn a working
        lookup into an outage.
        """
        if not query.strip():
            return None
        wanted = {code.upper() for code in countries}
        if self._flavour is None:
            status, body = await self._get("nominatim", query, language, wanted)
            if status == 404:
                status, body = await self._get("photon", query, language, wanted)
        else:
            status, body = await self._get(self._flavour, query, language, wanted)
        if status != 200:
            raise GeocoderUnavailable(f"geocoder answered HTTP {status}")
        if isinstance(body, list):
            self._flavour = "nominatim"
            results = [_from_nominatim(item) for item in body]
        elif isinstance(body, dict) and isinstance(body.get("features"), list):
            self._flavour = "photon"
            results = [_from_photon(feature) for feature in body["features"]]
        else:
            raise GeocoderUnavailable("geocoder answered neither Nominatim nor Photon JSON")
        return next(
            (r for r in results if r is not None and (not wanted or r.country in wanted)), None
        )

    async def _get(
        self, flavour: Flavour, query: str, language: str | None, countries: set[str]
    ) -> tuple[int, Any]:
        params: dict[str, str | int] = {"q": query, "limit": _RESULTS}
        if flavour == "nominatim":
            params.update(format="jsonv2", addressdetails=1)
            if countries:
                params["countrycodes"] = ",".join(sorted(countries)).lower()
            if language:
                params["accept-language"] = language
        if self._client is None:
            self._client = httpx.AsyncClient(headers={"User-Agent": USER_AGENT})
        try:
            response = await self._client.get(
                self.base_url + _PATHS[flavour],
                params=params,
                timeout=self.timeout,
                headers={"Accept": "application/json"},
            )
            if response.status_code != 200:
                return response.status_code, None
            return 200, response.json()
        except httpx.TimeoutException as exc:
            raise GeocoderUnavailable("geocoder did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise GeocoderUnavailable(f"geocoder unreachable: {exc.__class__.__name__}") from exc
        except ValueError as exc:
            raise GeocoderUnavailable("geocoder answered malformed JSON") from exc


def _text(mapping: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return ""


def _coordinate(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise GeocoderUnavailable("geocoder answered a result without coordinates") from exc


def _street_level(**fields: Any) -> GeocodedAddress | None:
    if not fields["street"] or not fields["city"]:
        return None
    return GeocodedAddress(**fields)


def _from_nominatim(item: Any) -> GeocodedAddress | None:
    if not isinstance(item, dict):
        raise GeocoderUnavailable("geocoder answered a malformed Nominatim result")
    address = item.get("address")
    address = address if isinstance(address, dict) else {}
    iso_province = _text(address, "ISO3166-2-lvl6")
    province = (
        iso_province.split("-", 1)[1] if "-" in iso_province else _text(address, "county", "state")
    )
    return _street_level(
        street=_text(address, "road", "pedestrian", "square", "footway"),
        number=_text(address, "house_number"),
        city=_text(address, "city", "town", "village", "municipality", "hamlet"),
        province=province,
        zip=_text(address, "postcode"),
        country=_text(address, "country_code").upper(),
        lat=_coordinate(item.get("lat")),
        lng=_coordinate(item.get("lon")),
    )


def _from_photon(feature: Any) -> GeocodedAddress | None:
    if not isinstance(feature, dict):
        raise GeocoderUnavailable("geocoder answered a malformed Photon feature")
    props = feature.get("properties")
    props = props if isinstance(props, dict) else {}
    geometry = feature.get("geometry")
    coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise GeocoderUnavailable("geocoder answered a feature without coordinates")
    street = _text(props, "street")
    if not street and props.get("osm_key") == "highway":
        street = _text(props, "name")
    return _street_level(
        street=street,
        number=_text(props, "housenumber"),
        city=_text(props, "city", "town", "village", "locality", "district"),
        province=_text(props, "county", "state"),
        zip=_text(props, "postcode"),
        country=_text(props, "countrycode").upper(),
        lat=_coordinate(coordinates[1]),
        lng=_coordinate(coordinates[0]),
    )


def geo_place_id(geo: GeocodedAddress) -> str:
    """``geo-`` + 16 hex digits of the SHA-1 of the folded address, coordinates left out.

    The same address geocoded twice, or by two processes at once, is one place; a server that
    later moves the point updates that place instead of creating another.
    """
    key = "|".join(fold(part) for part in (geo.street, geo.number, geo.city, geo.zip, geo.country))
    return "geo-" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]


async def remember(session: AsyncSession, geo: GeocodedAddress) -> Place:
    """Store ``geo`` as a place (insert or update in place) and return it. Idempotent.

    Only flushes: the caller's transaction decides whether the place is kept.
    """
    place_id = geo_place_id(geo)
    values = {
        "street": geo.street[:200],
        "number": geo.number[:20],
        "city": geo.city[:100],
        "province": geo.province[:50],
        "zip": geo.zip[:20],
        "country": geo.country[:2],
        "lat": geo.lat,
        "lng": geo.lng,
        "search_text": search_text_for(geo.street, geo.number, geo.city, geo.zip, geo.province)[
            :500
        ],
    }
    stmt = insert_for(session, Place).values(place_id=place_id, **values)
    changed = or_(*(getattr(Place, name) != stmt.excluded[name] for name in values))
    stmt = stmt.on_conflict_do_update(
        index_elements=[Place.place_id],
        set_={**values, "updated_at": utcnow()},
        where=changed,
    )
    await session.execute(stmt)
    place = await session.get(Place, place_id, populate_existing=True)
    assert place is not None
    return place
