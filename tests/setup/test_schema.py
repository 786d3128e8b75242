from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from orderdesk.dialects.partner.timeslots import NAMES as TIMESLOTS
from orderdesk.setup import DEMO_LOGINS, SetupError, SetupInvalid, demo_document, parse_setup
from orderdesk.setup.schema import json_path


def valid_document() -> dict[str, Any]:
    """The partner sections of the example in the operations spec."""
    return {
        "version": 1,
        "partners": [
            {
                "name": "acme",
                "title": "ACME Furniture",
                "users": [{"login": "api@acme.example", "password": "a long password"}],
                "webhooks": [
                    {"url": "https://hooks.acme.example/orderdesk", "secret": "whsec-acme"}
                ],
                "stores": [
                    {
                        "id": "acme-riga",
                        "title": "ACME Riga",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 2, "1217": 2, "1721": 1},
                        "masters_on": [{"date": "2026-12-24", "timeslot": "1721", "masters": 0}],
                    }
                ],
            }
        ],
        "items": [
            {
                "id": 1001,
                "title": "PAX wardrobe 150x236",
                "category": "wardrobes",
                "delivery": True,
                "assembly": True,
                "delivery_price": 2500,
                "assembly_price": 6900,
                "currency": "EUR",
            },
        ],
        "places": [
            {
                "place_id": "via-roma-1-milano",
                "street": "Via Roma",
                "number": "1",
                "city": "Milano",
                "province": "MI",
                "zip": "20121",
                "country": "IT",
                "lat": 45.4642,
                "lng": 9.19,
            }
        ],
    }


def errors_of(raw: object) -> list[SetupError]:
    with pytest.raises(SetupInvalid) as caught:
        parse_setup(raw)
    return caught.value.errors


def paths_of(raw: object) -> dict[str, str]:
    return {error.path: error.message for error in errors_of(raw)}


def test_spec_example_parses() -> None:
    doc = parse_setup(valid_document())

    store = doc.partners[0].stores[0]
    assert store.masters == {"0712": 2, "1217": 2, "1721": 1}
    assert store.masters_on[0].date == date(2026, 12, 24)
    assert doc.items[0].services == {"delivery": 2500, "assembly": 6900}
    assert doc.places[0].lat == 45.4642


def test_every_kind_of_error_is_reported_at_once() -> None:
    raw = valid_document()
    partner = raw["partners"][0]
    store = partner["stores"][0]
    store["timezone"] = "Europe/Atlantis"
    store["masters"] = {"0712": 2, "1217": 1001, "0812": 1}
    store["masters_on"] = [{"date": "2026-02-30", "timeslot": "0000", "masters": -1}]
    partner["users"][0]["password"] = "short"
    partner["webhooks"][0]["url"] = "ftp://hooks.acme.example"
    partner["webhooks"][0]["secret"] = "x"
    second = copy.deepcopy(partner)
    second["stores"][0]["masters"] = {"0712": 1, "1217": 1}
    raw["partners"].append(second)
    raw["items"] = [
        {"id": 0, "title": "Zero", "category": "beds", "currency": "EUR"},
        {"id": 7, "title": "Lamp", "category": "lighting", "delivery": True, "currency": "EUR"},
        {
            "id": 7,
            "title": "Lamp",
            "category": "lighting",
            "assembly": True,
            "assembly_price": -1,
            "currency": "eur",
        },
    ]
    raw["places"][0].update(lat=91, lng=-181, country="ITA")

    errors = paths_of(raw)

    s = "$.partners[0].stores[0]"
    assert errors[f"{s}.timezone"].startswith("unknown time zone")
    assert errors[f'{s}.masters["0812"]'].startswith("unknown timeslot")
    assert errors[f'{s}.masters["1217"]'] == "Input should be less than or equal to 1000"
    assert errors[f"{s}.masters_on[0].date"] == "is not a valid calendar date"
    assert errors[f"{s}.masters_on[0].timeslot"].startswith("unknown timeslot")
    assert errors[f"{s}.masters_on[0].masters"] == "Input should be greater than or equal to 0"
    assert "at least 8 characters" in errors["$.partners[0].users[0].password"]
    assert "http" in errors["$.partners[0].webhooks[0].url"]
    assert "at least 8 characters" in errors["$.partners[0].webhooks[0].secret"]
    assert errors["$.partners[1].stores[0].masters"].startswith("missing timeslot 1721")
    assert errors["$.partners[1].name"] == (
        "duplicate partner name acme; first used at $.partners[0].name"
    )
    assert errors["$.partners[1].stores[0].id"].startswith("duplicate store id acme-riga")
    assert errors["$.partners[1].users[0].login"].startswith("duplicate login")
    assert errors["$.items[0].id"] == "Input should be greater than 0"
    assert errors["$.items[1].delivery_price"] == "required when delivery is true"
    assert errors["$.items[2].id"] == "duplicate item id 7; first used at $.items[1].id"
    assert errors["$.items[2].assembly_price"] == "Input should be greater than or equal to 0"
    assert errors["$.items[2].currency"].startswith("must be a 3-letter upper-case")
    assert errors["$.places[0].lat"] == "Input should be less than or equal to 90"
    assert errors["$.places[0].lng"] == "Input should be greater than or equal to -180"
    assert errors["$.places[0].country"].startswith("must be a 2-letter upper-case")


def test_errors_come_in_document_order() -> None:
    raw = valid_document()
    item = raw["items"][0]
    raw["items"] = [dict(item, id=n) for n in range(1, 12)]
    raw["items"][10]["currency"] = "x"
    raw["items"][2]["currency"] = "x"
    raw["version"] = 2

    assert [e.path for e in errors_of(raw)] == [
        "$.version",
        "$.items[2].currency",
        "$.items[10].currency",
    ]


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("items", 0, "id"), "1001", "$.items[0].id"),
        (("items", 0, "id"), 1001.0, "$.items[0].id"),
        (("items", 0, "delivery"), 1, "$.items[0].delivery"),
        (("items", 0, "delivery_price"), "2500", "$.items[0].delivery_price"),
        (
            ("partners", 0, "stores", 0, "masters", "0712"),
            True,
            '$.partners[0].stores[0].masters["0712"]',
        ),
        (("partners", 0, "title"), 5, "$.partners[0].title"),
        (("places", 0, "lat"), "45.4", "$.places[0].lat"),
        (("places", 0, "lat"), True, "$.places[0].lat"),
        (("version",), True, "$.version"),
        (("version",), "1", "$.version"),
        (("version",), 1.0, "$.version"),
    ],
)
def test_types_are_strict(path: tuple[Any, ...], value: object, where: str) -> None:
    raw = valid_document()
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    assert [e.path for e in errors_of(raw)] == [where]


def test_integer_coordinates_are_numbers() -> None:
    raw = valid_document()
    raw["places"][0].update(lat=45, lng=9)

    assert parse_setup(raw).places[0].lat == 45.0


def test_unknown_keys_are_rejected_with_their_path() -> None:
    raw = valid_document()
    raw["partner"] = []
    raw["partners"][0]["stores"][0]["capacity"] = 3
    raw["items"][0]["price"] = 100
    raw["places"][0]["note"] = "corner"

    assert paths_of(raw) == {
        "$.partner": "unknown key",
        "$.partners[0].stores[0].capacity": "unknown key",
        "$.items[0].price": "unknown key",
        "$.places[0].note": "unknown key",
    }


def test_missing_keys_are_required() -> None:
    raw = valid_document()
    del raw["version"]
    del raw["partners"][0]["stores"][0]["timezone"]
    del raw["items"][0]["currency"]

    assert paths_of(raw) == {
        "$.version": "required",
        "$.partners[0].stores[0].timezone": "required",
        "$.items[0].currency": "required",
    }


def test_empty_restaurant_section_is_accepted() -> None:
    raw = valid_document()
    raw["restaurants"] = []

    assert parse_setup(raw).restaurants == []


@pytest.mark.parametrize("raw", [[], "text", None, 1])
def test_document_must_be_an_object(raw: object) -> None:
    assert paths_of(raw) == {"$": "the setup document must be a JSON object"}


def test_ids_and_titles_must_not_be_blank_or_padded() -> None:
    raw = valid_document()
    raw["partners"][0]["name"] = "acme "
    raw["partners"][0]["stores"][0]["title"] = "   "
    raw["items"][0]["category"] = ""

    assert paths_of(raw) == {
        "$.partners[0].name": "must not start or end with whitespace",
        "$.partners[0].stores[0].title": "must not be empty",
        "$.items[0].category": "String should have at least 1 character",
    }


def test_one_store_cannot_override_a_slot_twice() -> None:
    raw = valid_document()
    store = raw["partners"][0]["stores"][0]
    store["masters_on"].append({"date": "2026-12-24", "timeslot": "1721", "masters": 1})
    store["masters_on"].append({"date": "2026-12-24", "timeslot": "1217", "masters": 1})

    assert list(paths_of(raw)) == ["$.partners[0].stores[0].masters_on[1]"]


def test_past_override_dates_are_allowed() -> None:
    raw = valid_document()
    raw["partners"][0]["stores"][0]["masters_on"][0]["date"] = "2001-01-01"

    assert parse_setup(raw).partners[0].stores[0].masters_on[0].date == date(2001, 1, 1)


@pytest.mark.parametrize("value", ["20261224", "2026-1-2", "24.12.2026", 20261224])
def test_override_dates_must_be_iso(value: object) -> None:
    raw = valid_document()
    raw["partners"][0]["stores"][0]["masters_on"][0]["date"] = value

    assert list(paths_of(raw)) == ["$.partners[0].stores[0].masters_on[0].date"]


def test_price_of_a_service_not_offered_is_ignored() -> None:
    raw = valid_document()
    raw["items"][0].update(assembly=False)

    assert parse_setup(raw).items[0].services == {"delivery": 2500}


def test_services_default_to_not_offered() -> None:
    raw = valid_document()
    raw["items"] = [{"id": 5, "title": "Lamp", "category": "lighting", "currency": "EUR"}]

    assert parse_setup(raw).items[0].services == {}


@pytest.mark.parametrize(
    "url", ["hooks.acme.example", "https://", "mailto:a@b.c", "http://[::1", "https://exa mple.com"]
)
def test_webhook_urls_must_be_absolute_http(url: str) -> None:
    raw = valid_document()
    raw["partners"][0]["webhooks"][0]["url"] = url

    assert list(paths_of(raw)) == ["$.partners[0].webhooks[0].url"]


def test_a_partner_cannot_list_a_webhook_url_twice() -> None:
    raw = valid_document()
    hooks = raw["partners"][0]["webhooks"]
    hooks.append(dict(hooks[0], secret="whsec-other"))

    assert list(paths_of(raw)) == ["$.partners[0].webhooks[1].url"]


def test_item_ids_must_fit_a_database_integer() -> None:
    raw = valid_document()
    raw["items"][0]["id"] = 2**31

    assert list(paths_of(raw)) == ["$.items[0].id"]


def test_error_message_lists_every_error() -> None:
    raw = valid_document()
    raw["items"][0]["id"] = 0
    raw["places"][0]["lat"] = 100

    with pytest.raises(SetupInvalid) as caught:
        parse_setup(raw)

    assert str(caught.value).splitlines() == [
        "the setup document has 2 errors:",
        "  $.items[0].id: Input should be greater than 0",
        "  $.places[0].lat: Input should be less than or equal to 90",
    ]


def test_json_paths() -> None:
    assert json_path(()) == "$"
    assert json_path(("partners", 0, "stores", 12, "id")) == "$.partners[0].stores[12].id"
    assert json_path(("masters", "0712", "[key]")) == '$.masters["0712"]'


def test_demo_document_is_valid_and_realistic() -> None:
    doc = parse_setup(demo_document())

    logins = {(u.login, u.password) for p in doc.partners for u in p.users}
    assert logins == set(DEMO_LOGINS)
    stores = [s for p in doc.partners for s in p.stores]
    assert 2 <= len(doc.partners) <= 3 and 2 <= len(stores) <= 4
    assert len({s.timezone for s in stores}) >= 3
    assert all(set(s.masters) == set(TIMESLOTS) for s in stores)
    assert all(o.date > date.today() for s in stores for o in s.masters_on)
    assert any(s.masters_on for s in stores)
    assert len(doc.items) >= 200
    assert len({item.category for item in doc.items}) >= 8
    assert any("Größe" in item.title for item in doc.items)
    assert any("Étagère" in item.title for item in doc.items)
    assert any(not item.assembly for item in doc.items)
    assert all(item.delivery_price for item in doc.items if item.delivery)
    assert doc.places and all(place.city == "Milano" for place in doc.places)


def test_demo_overrides_stay_in_the_future_on_new_years_eve() -> None:
    doc = parse_setup(demo_document(date(2030, 12, 31)))

    days = {o.date for p in doc.partners for s in p.stores for o in s.masters_on}
    assert min(days) == date(2031, 1, 1)


@pytest.mark.parametrize("uid", [["centro"], {"uid": "centro"}])
def test_a_location_or_category_uid_of_the_wrong_type_is_an_error_not_a_crash(uid: object) -> None:
    # The cross checks collect uids into sets; a list or an object there must be reported as
    # the type error it is, not raise while the other checks run.
    doc = demo_document()
    restaurant = doc["restaurants"][0]
    restaurant["subrestaurants"][0]["uid"] = copy.deepcopy(uid)
    restaurant["categories"][0]["uid"] = copy.deepcopy(uid)
    with pytest.raises(SetupInvalid) as caught:
        parse_setup(doc)
    paths = {error.path for error in caught.value.errors}
    assert "$.restaurants[0].subrestaurants[0].uid" in paths
    assert "$.restaurants[0].categories[0].uid" in paths
