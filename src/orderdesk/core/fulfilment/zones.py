"""Which delivery zone contains a point: pure geometry, no database.

Zones are tried in the order given and the first that contains the point wins, so operators can
put a small, cheap inner zone before a larger, dearer one. Polygons are stored as ``[lat, lng]``
pairs (the order people read coordinates in) and turned into shapely geometries in ``(x=lng,
y=lat)`` order. A point exactly on a polygon's edge, or exactly ``radius_km`` away from the
centre of a radius zone, is inside: a customer on the border street is served.

Zone matching runs on every address lookup, so prepared geometries are cached per distinct
polygon (:func:`prepared_polygon`); rebuilding the rule list from the database on each request
costs a tuple hash per polygon instead of a shapely build and preparation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shapely.prepared import PreparedGeometry  # type: ignore[import-untyped]

# shapely is imported by the functions that build or test polygons, not here: it loads numpy
# and OpenBLAS, about 20 MiB of a worker's resident memory, and only polygon zones need it
# (radius zones are plain arithmetic). A worker whose organizations have no polygon zone never
# loads it; one that has them pays the import once, on its first polygon lookup.

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG); haversine distances are within about 0.5 % of the ellipsoid's."""

_CACHED_POLYGONS = 1024

Coordinate = tuple[float, float]


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class ZoneRule:
    """One delivery zone ready for matching.

    Exactly one of ``polygon`` (``(lat, lng)`` points) and ``radius_km`` is expected; a rule with
    neither, or a radius rule without ``center``, never matches. ``center`` is the position of
    the serving location: radius zones are measured from it and delivery distances start there,
    so it is set for polygon zones too when the location's position is known.
    """

    zone_id: int
    name: str
    location_id: int
    fee: int
    order_min: int
    polygon: list[tuple[float, float]] | None
    radius_km: float | None
    center: tuple[float, float] | None
    location_key: str = ""

    def contains(self, lat: float, lng: float) -> bool:
        """Whether the point is inside this zone, its boundary included."""
        if self.polygon is not None:
            from shapely.geometry import Point  # type: ignore[import-untyped]  # see the top

            shape = prepared_polygon(_polygon_key(self.polygon))
            return shape is not None and shape.covers(Point(lng, lat))
        if self.radius_km is not None and self.center is not None:
            return haversine_km(self.center[0], self.center[1], lat, lng) <= self.radius_km
        return False


def first_matching_zone(rules: Sequence[ZoneRule], lat: float, lng: float) -> ZoneRule | None:
    """The first rule, in the given order, whose zone contains the point; ``None`` if none."""
    for rule in rules:
        if rule.contains(lat, lng):
            return rule
    return None


def _polygon_key(points: Sequence[Sequence[float]]) -> tuple[Coordinate, ...]:
    return tuple((float(point[0]), float(point[1])) for point in points)


@lru_cache(maxsize=_CACHED_POLYGONS)
def prepared_polygon(points: tuple[Coordinate, ...]) -> PreparedGeometry | None:
    """The prepared shapely polygon for ``(lat, lng)`` points, built once per distinct polygon.

    A self-intersecting outline (a "bow tie" drawn by hand) is repaired with ``make_valid`` so
    that it covers what it visibly encloses; fewer than three distinct points enclose nothing
    and give ``None``.
    """
    if len(set(points)) < 3:
        return None
    import shapely  # type: ignore[import-untyped]  # not at the top: see there
    from shapely.geometry import Polygon
    from shapely.prepared import prep

    polygon = Polygon([(lng, lat) for lat, lng in points])
    geometry = polygon if polygon.is_valid else shapely.make_valid(polygon)
    if geometry.is_empty or geometry.area == 0:
        return None
    return prep(geometry)
