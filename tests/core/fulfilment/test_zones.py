"""Zone matching and distances (pure, no database)."""

from __future__ import annotations

import pytest
from tests.core.fulfilment.support import CENTRALE, DUOMO

from orderdesk.core.fulfilment.zones import (
    ZoneRule,
    first_matching_zone,
    haversine_km,
    prepared_polygon,
)

# The operations spec's example "Centro" polygon, as [lat, lng] points.
CENTRO = [(45.47, 9.17), (45.47, 9.21), (45.45, 9.21), (45.45, 9.17)]


def rule(
    zone_id: int,
    *,
    polygon: list[tuple[float, float]] | None = None,
    radius_km: float | None = None,
    center: tuple[float, float] | None = DUOMO,
) -> ZoneRule:
    return ZoneRule(
        zone_id=zone_id,
        name=f"zone {zone_id}",
        location_id=1,
        fee=100 * zone_id,
        order_min=0,
        polygon=polygon,
        radius_km=radius_km,
        center=center,
    )


def test_point_inside_polygon_matches() -> None:
    assert first_matching_zone([rule(1, polygon=CENTRO)], 45.46, 9.19) == rule(1, polygon=CENTRO)


def test_polygon_points_are_lat_lng_not_lng_lat() -> None:
    # (9.19, 45.46) would be inside if the polygon were read as [lng, lat].
    swapped = [(lng, lat) for lat, lng in CENTRO]
    assert first_matching_zone([rule(1, polygon=swapped)], 45.46, 9.19) is None


@pytest.mark.parametrize(
    ("lat", "lng"), [(45.47, 9.19), (45.45, 9.20), (45.46, 9.17), (45.46, 9.21), (45.47, 9.21)]
)
def test_point_on_polygon_boundary_or_corner_is_inside(lat: float, lng: float) -> None:
    assert first_matching_zone([rule(1, polygon=CENTRO)], lat, lng) is not None


def test_point_just_outside_polygon_does_not_match() -> None:
    assert first_matching_zone([rule(1, polygon=CENTRO)], 45.4701, 9.19) is None


def test_radius_zone_is_measured_from_center() -> None:
    two_km = rule(1, radius_km=2.0)
    assert first_matching_zone([two_km], *DUOMO) is two_km
    assert first_matching_zone([two_km], *CENTRALE) is None  # 2.6 km away
    assert first_matching_zone([rule(1, radius_km=3.0)], *CENTRALE) is not None


def test_radius_boundary_counts_as_inside() -> None:
    exact = haversine_km(*DUOMO, *CENTRALE)
    assert first_matching_zone([rule(1, radius_km=exact)], *CENTRALE) is not None


def test_radius_zone_without_center_never_matches() -> None:
    assert first_matching_zone([rule(1, radius_km=50.0, center=None)], *DUOMO) is None


def test_first_matching_zone_wins_in_given_order() -> None:
    inner, outer = rule(1, polygon=CENTRO), rule(2, radius_km=10.0)
    assert first_matching_zone([inner, outer], 45.46, 9.19) is inner
    assert first_matching_zone([outer, inner], 45.46, 9.19) is outer
    assert first_matching_zone([inner, outer], *CENTRALE) is outer  # north of the polygon


def test_point_outside_every_zone_matches_none() -> None:
    rules = [rule(1, polygon=CENTRO), rule(2, radius_km=6.0)]
    assert first_matching_zone(rules, 41.9028, 12.4964) is None  # Rome
    assert first_matching_zone([], *DUOMO) is None


def test_degenerate_polygon_never_matches() -> None:
    line = [(45.45, 9.17), (45.47, 9.21), (45.45, 9.17)]
    assert first_matching_zone([rule(1, polygon=line)], 45.46, 9.19) is None


def test_self_intersecting_polygon_covers_both_lobes() -> None:
    bow_tie = [(45.45, 9.17), (45.47, 9.21), (45.45, 9.21), (45.47, 9.17)]
    assert first_matching_zone([rule(1, polygon=bow_tie)], 45.46, 9.175) is not None
    assert first_matching_zone([rule(1, polygon=bow_tie)], 45.46, 9.205) is not None


def test_prepared_polygons_are_built_once_per_distinct_polygon() -> None:
    prepared_polygon.cache_clear()
    for _ in range(50):
        first_matching_zone([rule(1, polygon=list(CENTRO))], 45.46, 9.19)
    info = prepared_polygon.cache_info()
    assert (info.misses, info.hits) == (1, 49)


def test_haversine_of_same_point_is_zero() -> None:
    assert haversine_km(*DUOMO, *DUOMO) == 0.0


def test_one_degree_of_latitude_is_111_2_km() -> None:
    assert haversine_km(45.0, 9.0, 46.0, 9.0) == pytest.approx(111.195, abs=0.001)


def test_duomo_to_milano_centrale_is_about_2_6_km() -> None:
    # 2.615 km on the WGS84 ellipsoid (Vincenty) between Piazza del Duomo and the station.
    assert haversine_km(*DUOMO, *CENTRALE) == pytest.approx(2.615, abs=0.01)
    assert haversine_km(*CENTRALE, *DUOMO) == haversine_km(*DUOMO, *CENTRALE)


def test_london_to_paris_is_within_half_a_percent_of_the_ellipsoid() -> None:
    assert haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.92, rel=0.005)
