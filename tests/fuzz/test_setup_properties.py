"""Properties of the setup document parser on generated documents.

* Any JSON value (including the ``NaN`` and ``Infinity`` that Python's ``json`` reads) either
  parses or raises :class:`SetupInvalid`, never anything else; so do valid documents with one
  part replaced by arbitrary JSON, removed, or joined by an unknown key.
* Every reported path starts with ``$`` and points into the document: each step exists, except
  that the last may name a required key that is missing from an object that exists.
* Valid documents, generated section by section with every uniqueness and reference rule
  respected, parse, and parse again to the same model from their own JSON dump.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderdesk.dialects.partner.timeslots import NAMES as TIMESLOTS
from orderdesk.setup.schema import SCOPES, WEEKDAYS, SetupDocument, SetupInvalid, parse_setup

pytestmark = pytest.mark.fuzz

PROPERTIES = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- arbitrary JSON --------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
section_names = st.sampled_from([*SetupDocument.model_fields, "version", "extra"])
# Objects that look like a document at the top, so the sections' own rules get to run.
document_like = st.dictionaries(section_names, json_values, max_size=5)

# --- valid documents -------------------------------------------------------------------------

slug = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
words = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
timezones = st.sampled_from(["Europe/Riga", "Europe/Rome", "America/New_York", "Asia/Tokyo", "UTC"])
money = st.integers(min_value=0, max_value=2**31 - 1)
iso_dates = st.dates().map(lambda d: d.isoformat())
lats = st.floats(min_value=-90, max_value=90)
lngs = st.floats(min_value=-180, max_value=180)


@st.composite
def stores(draw: st.DrawFn, store_id: str) -> dict[str, Any]:
    overrides = draw(
        st.lists(st.tuples(iso_dates, st.sampled_from(TIMESLOTS)), unique=True, max_size=3)
    )
    return {
        "id": store_id,
        "title": draw(words),
        "timezone": draw(timezones),
        "masters": {slot: draw(st.integers(0, 1000)) for slot in TIMESLOTS},
        "masters_on": [
            {"date": day, "timeslot": slot, "masters": draw(st.integers(0, 1000))}
            for day, slot in overrides
        ],
    }


@st.composite
def partners(draw: st.DrawFn, index: int) -> dict[str, Any]:
    name = f"{draw(slug)}-p{index}"
    return {
        "name": name,
        "title": draw(words),
        "users": [
            {"login": f"u{u}@{name}.example", "password": draw(st.text(min_size=8, max_size=20))}
            for u in range(draw(st.integers(0, 2)))
        ],
        "webhooks": [
            {"url": f"https://hooks{w}.{name}.example/in", "secret": "s" * (8 + w)}
            for w in range(draw(st.integers(0, 2)))
        ],
        "stores": [draw(stores(f"{name}-s{s}")) for s in range(draw(st.integers(0, 2)))],
    }


@st.composite
def items(draw: st.DrawFn, item_id: int) -> dict[str, Any]:
    delivery, assembly = draw(st.booleans()), draw(st.booleans())
    item: dict[str, Any] = {
        "id": item_id,
        "title": draw(words),
        "category": draw(slug),
        "delivery": delivery,
        "assembly": assembly,
        "currency": draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
    }
    for service, offered in (("delivery", delivery), ("assembly", assembly)):
        if offered or draw(st.booleans()):
            item[f"{service}_price"] = draw(money)
    return item


@st.composite
def places(draw: st.DrawFn, place_id: str) -> dict[str, Any]:
    return {
        "place_id": place_id,
        "street": draw(words),
        "number": str(draw(st.integers(1, 99))),
        "city": draw(words),
        "country": draw(st.sampled_from(["IT", "LV", "DE"])),
        "lat": draw(lats),
        "lng": draw(lngs),
    }


@st.composite
def opening_hours(draw: st.DrawFn) -> dict[str, list[list[str]]]:
    hours: dict[str, list[list[str]]] = {}
    for day in draw(st.lists(st.sampled_from(WEEKDAYS), unique=True, max_size=7)):
        bounds = sorted(draw(st.lists(st.integers(0, 24 * 4), unique=True, min_size=2, max_size=4)))
        pairs = list(zip(bounds[::2], bounds[1::2], strict=False))
        hours[day] = [[_clock(start), _clock(end)] for start, end in pairs]
    return hours


def _clock(quarters: int) -> str:
    return f"{quarters // 4:02d}:{quarters % 4 * 15:02d}"


@st.composite
def options(draw: st.DrawFn, uid: str) -> dict[str, Any]:
    single = draw(st.booleans())
    values = [
        {
            "uid": f"v{v}",
            "name": draw(words),
            "price_operator": draw(st.sampled_from(["+", "-", "="])),
            "price_operand": draw(money),
            "ext_id": f"V{v}" if draw(st.booleans()) else None,
        }
        for v in range(draw(st.integers(1, 4)))
    ]
    maximum = 1 if single else draw(st.integers(1, len(values)))
    return {
        "uid": uid,
        "name": draw(words),
        "type": "single" if single else "multiple",
        "min_selectable": draw(st.integers(0, maximum)),
        "max_selectable": maximum,
        "max_quantity": draw(st.integers(1, 99)),
        "option_values": values,
    }


@st.composite
def restaurants(draw: st.DrawFn, index: int) -> dict[str, Any]:
    uid = f"{draw(slug)}-r{index}"
    locations = [f"{uid}-l{n}" for n in range(draw(st.integers(0, 2)))]
    categories = [f"c{n}" for n in range(draw(st.integers(0, 3)))]
    subrestaurants = [
        {
            "uid": location,
            "name": draw(words),
            "address": draw(words),
            "city": draw(words),
            "country": "IT",
            "lat": draw(lats),
            "lng": draw(lngs),
            "opening_hours": draw(opening_hours()),
            "slot_minutes": draw(st.sampled_from([5, 10, 15, 20, 30, 60, 90])),
        }
        for location in locations
    ]
    zones = [
        {
            "name": f"zone {n}",
            "subrestaurant_uid": location,
            "fee": draw(money),
            **(
                {"radius_km": draw(st.floats(0.1, 100))}
                if n % 2 == 0
                else {"polygon": [[45.0, 9.0], [45.1, 9.0], [45.1, 9.1]]}
            ),
        }
        for n, location in enumerate(locations)
    ]
    products = [
        {
            "uid": f"p{n}",
            "category_uid": draw(st.sampled_from(categories)),
            "name": draw(words),
            "price": draw(money),
            "ext_id": f"P{n}",
            "subrestaurant_uids": draw(st.lists(st.sampled_from(locations), unique=True))
            if locations
            else [],
            "options": [draw(options(f"{uid}-p{n}-o{o}")) for o in range(draw(st.integers(0, 2)))],
        }
        for n in range(draw(st.integers(0, 3)) if categories else 0)
    ]
    return {
        "uid": uid,
        "name": draw(words),
        "timezone": draw(timezones),
        "language": draw(st.sampled_from(["it", "en", "de", "lv"])),
        "currency": draw(st.sampled_from(["EUR", "USD", "JPY"])),
        "api_keys": [f"key-{uid}-{k:08d}" for k in range(draw(st.integers(0, 2)))],
        "clients": [
            {
                "client_id": f"{uid}-client",
                "client_secret": "secret-secret-1",
                "scopes": draw(st.lists(st.sampled_from(SCOPES), unique=True, min_size=1)),
            }
        ],
        "subrestaurants": subrestaurants,
        "zones": zones,
        "dmethods": draw(
            st.lists(st.sampled_from(["0", "1", "0t", "20", "dcf-x1"]), unique=True, min_size=1)
        ),
        "categories": [{"uid": c, "name": draw(words), "ext_id": f"C{c}"} for c in categories],
        "products": products,
        "coupons": [
            {
                "code": f"CODE{n}",
                "discount_perc": draw(st.integers(1, 100)),
                "valid_weekdays": draw(st.lists(st.sampled_from(WEEKDAYS), unique=True)),
            }
            for n in range(draw(st.integers(0, 2)))
        ],
        "coupon_generators": [{"gencode": "GEN", "discount_amount": draw(st.integers(1, 5000))}],
    }


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    item_ids = draw(st.lists(st.integers(1, 2**31 - 1), unique=True, max_size=4))
    return {
        "version": 1,
        "partners": [draw(partners(n)) for n in range(draw(st.integers(0, 2)))],
        "items": [draw(items(item_id)) for item_id in item_ids],
        "restaurants": [draw(restaurants(n)) for n in range(draw(st.integers(0, 2)))],
        "places": [draw(places(f"place-{n}")) for n in range(draw(st.integers(0, 2)))],
    }


def _spots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) in a JSON value."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield node, key
            yield from _spots(child)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield node, index
            yield from _spots(child)


@st.composite
def damaged_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one part replaced, removed, or joined by an unknown key."""
    document = draw(valid_documents())
    spots = list(_spots(document))
    container, key = draw(st.sampled_from(spots))
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        container[key] = draw(json_values)
    elif action == "remove":
        del container[key]
    elif isinstance(container, dict):
        container[draw(st.text(max_size=10))] = draw(json_values)
    else:
        container.append(draw(json_values))
    return document


# --- paths -----------------------------------------------------------------------------------

_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _steps(path: str) -> list[str | int]:
    assert path.startswith("$"), path
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        match = _STEP.match(path, position)
        assert match, f"{path!r} is not a JSON path (at {path[position:]!r})"
        name, index, quoted = match.groups()
        steps.append(
            name if name is not None else int(index) if index is not None else json.loads(quoted)
        )
        position = match.end()
    return steps


def _points_into(raw: Any, path: str) -> bool:
    node = raw
    steps = _steps(path)
    for number, step in enumerate(steps):
        in_object = isinstance(node, dict) and isinstance(step, str) and step in node
        in_array = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not (in_object or in_array):
            # Only a missing required key, at the end, of an object that exists.
            return number == len(steps) - 1 and isinstance(node, dict) and isinstance(step, str)
        node = node[step]
    return True


def _check_parse(raw: Any) -> None:
    before = copy.deepcopy(raw)
    try:
        parse_setup(raw)
    except SetupInvalid as invalid:
        assert invalid.errors, "SetupInvalid without errors"
        for error in invalid.errors:
            assert _points_into(raw, error.path), (error.path, error.message)
    assert json.dumps(raw, sort_keys=True) == json.dumps(before, sort_keys=True), (
        "parse_setup changed its input"
    )


# --- properties ------------------------------------------------------------------------------


@PROPERTIES
@given(raw=json_values)
def test_any_json_value_is_parsed_or_refused_with_paths_into_it(raw: Any) -> None:
    _check_parse(raw)


@PROPERTIES
@given(raw=document_like)
def test_any_object_with_document_sections_is_parsed_or_refused(raw: dict[str, Any]) -> None:
    _check_parse(raw)


@PROPERTIES
@given(raw=damaged_documents())
def test_a_damaged_valid_document_is_parsed_or_refused(raw: dict[str, Any]) -> None:
    _check_parse(raw)


@PROPERTIES
@given(raw=valid_documents())
def test_valid_documents_parse_and_round_trip(raw: dict[str, Any]) -> None:
    first = parse_setup(raw)
    assert parse_setup(raw) == first
    dumped = json.loads(json.dumps(first.model_dump(mode="json")))
    assert parse_setup(dumped) == first
