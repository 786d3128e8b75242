"""The ``restaurants`` sections of the setup document: every validation rule with its path, then
applying them on SQLite and (when reachable) on a fresh PostgreSQL database."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.conftest import create_pg_database, drop_pg_database

from orderdesk.core.catalog.models import Category, OptionValue, Product, ProductOption
from orderdesk.core.fulfilment.models import DeliveryZone
from orderdesk.core.organizations.models import (
    ApiClient,
    ApiKey,
    Location,
    Organization,
    WebhookSubscription,
)
from orderdesk.core.organizations.service import password_matches
from orderdesk.core.pricing.models import Coupon, CouponGenerator
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.db.migrate import migrate
from orderdesk.setup import SetupError, SetupInvalid, apply_file, demo_document, parse_setup
from orderdesk.setup.demo import (
    DEMO_RESTAURANT_API_KEY,
    DEMO_RESTAURANT_CLIENT_ID,
    DEMO_RESTAURANT_CLIENT_SECRET,
    demo_restaurant,
)

API_KEY = "bella-api-key-0123456789"
CLIENT_SECRET = "bella-client-secret-0123"
R = "$.restaurants[0]"


def centro() -> dict[str, Any]:
    return {
        "uid": "bella-centro",
        "name": "Centro",
        "code": "C",
        "address": "Via Orefici 2",
        "city": "Milano",
        "province": "MI",
        "zip": "20123",
        "country": "IT",
        "lat": 45.4642,
        "lng": 9.19,
        "phone": "+39 02 8646 1234",
        "email": "centro@bella.example",
        "opening_hours": {
            "mon": [["18:30", "23:00"], ["11:30", "14:30"]],
            "sat": [["11:30", "24:00"]],
        },
        "lead_minutes": 25,
        "slot_minutes": 20,
        "orders_per_slot": 6,
    }


def bella() -> dict[str, Any]:
    """The restaurant of the operations spec's example, with credentials long enough."""
    return {
        "uid": "bella",
        "name": "Pizzeria Bella",
        "timezone": "Europe/Rome",
        "language": "it",
        "currency": "EUR",
        "auto_confirm": False,
        "countdown_seconds": 300,
        "api_keys": [API_KEY],
        "clients": [
            {
                "client_id": "bella-web",
                "client_secret": CLIENT_SECRET,
                "scopes": ["write:orders", "read:orders", "read:menu"],
            }
        ],
        "webhooks": [{"url": "http://127.0.0.1:9999/hook", "secret": "whsec-bella"}],
        "subrestaurants": [
            centro(),
            {
                "uid": "bella-navigli",
                "name": "Navigli",
                "address": "Alzaia Naviglio Grande 20",
                "city": "Milano",
                "country": "IT",
                "lat": 45.452,
                "lng": 9.176,
                "opening_hours": {"sun": [["12:00", "15:00"]]},
            },
        ],
        "dmethods": ["0", "1", "0t", "20", "0e-7", "dcf-3"],
        "cash_subs": ["cash", "pos"],
        "zones": [
            {
                "name": "Centro",
                "subrestaurant_uid": "bella-centro",
                "fee": 250,
                "order_min": 1500,
                "polygon": [[45.47, 9.17], [45.47, 9.21], [45.45, 9.21], [45.45, 9.17]],
            },
            {
                "name": "Fuori",
                "subrestaurant_uid": "bella-navigli",
                "fee": 450,
                "order_min": 2000,
                "radius_km": 6,
            },
        ],
        "categories": [
            {"uid": "pizze", "name": "Pizze"},
            {
                "uid": "dolci",
                "name": "Dolci",
                "subrestaurant_uids": ["bella-navigli"],
                "ext_id": "POS-D",
            },
        ],
        "products": [
            {
                "uid": "margherita",
                "category_uid": "pizze",
                "name": "Margherita",
                "price": 750,
                "hidden": False,
                "available": True,
                "subrestaurant_uids": [],
                "options": [
                    {
                        "uid": "extra",
                        "name": "Extra",
                        "type": "multiple",
                        "min_selectable": 0,
                        "max_selectable": 3,
                        "max_quantity": 2,
                        "option_values": [
                            {
                                "uid": "mozz",
                                "name": "Mozzarella",
                                "price_operator": "+",
                                "price_operand": 100,
                            }
                        ],
                    }
                ],
            },
            {
                "uid": "tiramisu",
                "category_uid": "dolci",
                "name": "Tiramisù",
                "price": 550,
                "ingredients": "Mascarpone, savoiardi",
                "subrestaurant_uids": ["bella-navigli"],
            },
        ],
        "coupons": [
            {
                "code": "WELCOME10",
                "discount_perc": 10,
                "quantity": 100,
                "order_min": 1000,
                "valid_from": "2026-01-01",
                "valid_to": "2027-12-31",
            },
            {
                "code": "estate",
                "discount_amount": 300,
                "valid_weekdays": ["fri", "mon"],
                "valid_email": "anna@example.com",
            },
        ],
        "coupon_generators": [{"gencode": "bday", "discount_perc": 15, "valid_days": 30}],
    }


def document(*restaurants: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"version": 1, "restaurants": list(restaurants) or [bella()], **sections}


def errors_of(raw: object) -> list[SetupError]:
    with pytest.raises(SetupInvalid) as caught:
        parse_setup(raw)
    return caught.value.errors


def paths_of(raw: object) -> dict[str, str]:
    return {error.path: error.message for error in errors_of(raw)}


# --- the schema -----------------------------------------------------------------------------


def test_spec_example_parses_with_its_defaults() -> None:
    raw = bella()
    del raw["countdown_seconds"], raw["auto_confirm"], raw["dmethods"], raw["cash_subs"]

    restaurant = parse_setup(document(raw)).restaurants[0]

    assert restaurant.settings() == {
        "timezone": "Europe/Rome",
        "language": "it",
        "currency": "EUR",
        "auto_confirm": False,
        "countdown_seconds": 300,
        "dmethods": ["0"],
        "cash_subs": [],
        "api_enabled": True,
    }
    navigli = restaurant.subrestaurants[1].settings()
    assert (navigli["code"], navigli["province"], navigli["zip"], navigli["phone"]) == (
        "",
        "",
        "",
        None,
    )
    assert (navigli["lead_minutes"], navigli["slot_minutes"], navigli["orders_per_slot"]) == (
        20,
        15,
        4,
    )
    option = restaurant.products[0].options[0]
    assert (option.short_name, option.hidden, option.position) == ("", False, None)
    assert restaurant.coupons[1].iso_weekdays == [1, 5]
    assert restaurant.coupons[1].quantity is None
    assert restaurant.coupon_generators[0].valid_days == 30


def test_opening_hours_are_stored_sorted_by_day_and_start() -> None:
    restaurant = parse_setup(document()).restaurants[0]

    assert restaurant.subrestaurants[0].settings()["opening_hours"] == {
        "mon": [["11:30", "14:30"], ["18:30", "23:00"]],
        "sat": [["11:30", "24:00"]],
    }


def test_every_kind_of_restaurant_error_is_reported_at_once() -> None:
    raw = bella()
    raw.update(timezone="Europe/Milano", language="IT", currency="EURO", countdown_seconds=10)
    raw["api_keys"] = ["too short"]
    raw["clients"][0]["scopes"] = ["write:orders", "delete:everything"]
    sub = raw["subrestaurants"][0]
    sub.update(country="ZZ", lat=95, slot_minutes=7, orders_per_slot=0, email="centro@")
    sub["opening_hours"]["mon"].append(["14:00", "15:00"])
    raw["zones"][1]["radius_km"] = 0
    raw["products"][0]["price"] = -1
    raw["products"][0]["options"][0].update(min_selectable=4, max_selectable=3)
    raw["coupons"][0].update(valid_to="2025-12-31", discount_perc=101)
    raw["coupon_generators"][0]["valid_days"] = 0

    errors = paths_of(document(raw))

    assert errors[f"{R}.timezone"].startswith("unknown time zone")
    assert errors[f"{R}.language"].startswith("must be a 2-letter lower-case ISO 639-1")
    assert errors[f"{R}.currency"].startswith("must be a 3-letter upper-case ISO 4217")
    assert errors[f"{R}.countdown_seconds"] == "Input should be greater than or equal to 30"
    assert "at least 12 characters" in errors[f"{R}.api_keys[0]"]
    assert f"{R}.clients[0].scopes[1]" in errors
    s = f"{R}.subrestaurants[0]"
    assert errors[f"{s}.country"].startswith("must be a 2-letter upper-case ISO 3166")
    assert errors[f"{s}.lat"] == "Input should be less than or equal to 90"
    assert errors[f"{s}.slot_minutes"].startswith("must divide 60")
    assert errors[f"{s}.orders_per_slot"] == "Input should be greater than or equal to 1"
    assert errors[f"{s}.email"].startswith("must be an e-mail address")
    assert errors[f"{s}.opening_hours.mon"] == "ranges 11:30-14:30 and 14:00-15:00 overlap"
    assert errors[f"{R}.zones[1].radius_km"] == "Input should be greater than 0"
    assert errors[f"{R}.products[0].price"] == "Input should be greater than or equal to 0"
    assert errors[f"{R}.products[0].options[0].max_selectable"] == (
        "must be at least min_selectable (4)"
    )
    assert errors[f"{R}.coupons[0].valid_to"] == "must not be before valid_from (2026-01-01)"
    assert errors[f"{R}.coupons[0].discount_perc"] == ("Input should be less than or equal to 100")
    assert errors[f"{R}.coupon_generators[0].valid_days"] == (
        "Input should be greater than or equal to 1"
    )
    assert len(errors) == 19


def test_unknown_keys_are_rejected_at_every_level() -> None:
    raw = bella()
    raw["owner"] = "Bella"
    raw["clients"][0]["name"] = "Web"
    raw["subrestaurants"][0]["opening_hours"]["holiday"] = []
    raw["subrestaurants"][1]["capacity"] = 3
    raw["zones"][0]["colour"] = "red"
    raw["categories"][0]["options"] = []
    raw["products"][0]["options"][0]["option_values"][0]["price"] = 100
    raw["coupons"][0]["uses"] = 1
    raw["coupon_generators"][0]["code"] = "X"

    assert set(paths_of(document(raw))) == {
        f"{R}.owner",
        f"{R}.clients[0].name",
        f"{R}.subrestaurants[0].opening_hours.holiday",
        f"{R}.subrestaurants[1].capacity",
        f"{R}.zones[0].colour",
        f"{R}.categories[0].options",
        f"{R}.products[0].options[0].option_values[0].price",
        f"{R}.coupons[0].uses",
        f"{R}.coupon_generators[0].code",
    }


def test_missing_keys_are_required() -> None:
    raw = bella()
    del raw["timezone"], raw["subrestaurants"][0]["opening_hours"]
    del raw["products"][0]["price"], raw["products"][1]["category_uid"]

    assert paths_of(document(raw)) == {
        f"{R}.timezone": "required",
        f"{R}.subrestaurants[0].opening_hours": "required",
        f"{R}.products[0].price": "required",
        f"{R}.products[1].category_uid": "required",
    }


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("auto_confirm",), 0),
        (("countdown_seconds",), "300"),
        (("countdown_seconds",), 300.0),
        (("api_keys",), API_KEY),
        (("subrestaurants", 0, "lat"), "45.4"),
        (("subrestaurants", 0, "lead_minutes"), True),
        (("zones", 0, "fee"), 2.5),
        (("products", 0, "hidden"), "false"),
        (("products", 0, "options", 0, "option_values", 0, "price_operand"), "100"),
        (("coupons", 0, "quantity"), "100"),
        (("coupons", 0, "valid_weekdays"), "mon"),
    ],
)
def test_types_are_strict(path: tuple[Any, ...], value: object) -> None:
    raw = bella()
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    where = R + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)

    assert [e.path for e in errors_of(document(raw))] == [where]


def test_integers_are_accepted_as_coordinates_and_radius() -> None:
    raw = bella()
    raw["subrestaurants"][0].update(lat=45, lng=9)
    raw["zones"][0]["polygon"] = [[45, 9], [46, 9], [46, 10]]

    restaurant = parse_setup(document(raw)).restaurants[0]

    assert restaurant.subrestaurants[0].lat == 45
    assert restaurant.zones[1].radius_km == 6


@pytest.mark.parametrize(
    ("hours", "where", "message"),
    [
        ({"mon": [["11:30", "25:00"]]}, ".mon[0]", "'25:00' is not a time of day"),
        ({"mon": [["24:00", "24:00"]]}, ".mon[0]", "'24:00' is not a time of day"),
        ({"mon": [["9:00", "12:00"]]}, ".mon[0]", "'9:00' is not a time of day"),
        ({"mon": [["14:30", "11:30"]]}, ".mon[0]", "must end after it starts"),
        ({"mon": [["12:00", "12:00"]]}, ".mon[0]", "must end after it starts"),
        ({"fri": [["18:00", "02:00"]]}, ".fri[0]", "must end after it starts"),
        ({"mon": [["11:30"]]}, ".mon[0]", "List should have at least 2 items"),
        ({"mon": [["11:30", "14:30"], ["12:00", "13:00"]]}, ".mon", "ranges 11:30-14:30 and"),
        ({"monday": [["11:30", "14:30"]]}, ".monday", "Input should be 'mon'"),
        ({"mon": "11:30-14:30"}, ".mon", "must be an array"),
    ],
)
def test_opening_hours_rules(hours: dict[str, Any], where: str, message: str) -> None:
    raw = bella()
    raw["subrestaurants"][0]["opening_hours"] = hours

    errors = paths_of(document(raw))

    assert list(errors) == [f"{R}.subrestaurants[0].opening_hours{where}"]
    assert next(iter(errors.values())).startswith(message)


def test_ranges_may_touch_and_end_at_midnight() -> None:
    raw = bella()
    raw["subrestaurants"][0]["opening_hours"] = {
        "fri": [["18:00", "24:00"], ["11:00", "18:00"]],
        "sat": [["00:00", "02:00"]],
        "sun": [],
    }

    hours = parse_setup(document(raw)).restaurants[0].subrestaurants[0].settings()
    assert hours["opening_hours"] == {
        "fri": [["11:00", "18:00"], ["18:00", "24:00"]],
        "sat": [["00:00", "02:00"]],
        "sun": [],
    }


@pytest.mark.parametrize(
    ("minutes", "valid"),
    [
        (5, True),
        (10, True),
        (12, True),
        (15, True),
        (20, True),
        (30, True),
        (45, True),
        (60, True),
        (90, True),
        (1440, True),
        (7, False),
        (25, False),
        (50, False),
        (0, False),
        (1455, False),
    ],
)
def test_slot_minutes_divide_an_hour_or_are_quarters(minutes: int, valid: bool) -> None:
    raw = bella()
    raw["subrestaurants"][0]["slot_minutes"] = minutes

    if valid:
        assert parse_setup(document(raw)).restaurants[0].subrestaurants[0].slot_minutes == (minutes)
    else:
        assert list(paths_of(document(raw))) == [f"{R}.subrestaurants[0].slot_minutes"]


def test_a_zone_needs_exactly_one_shape() -> None:
    raw = bella()
    raw["zones"][0]["radius_km"] = 2
    del raw["zones"][1]["radius_km"]

    assert paths_of(document(raw)) == {
        f"{R}.zones[0]": "needs exactly one of polygon and radius_km",
        f"{R}.zones[1]": "needs exactly one of polygon and radius_km",
    }


@pytest.mark.parametrize(
    ("polygon", "where", "message"),
    [
        ([[45.47, 9.17], [45.47, 9.21]], "", "List should have at least 3 items"),
        ([[45.47, 9.17], [45.47, 9.21], [95, 9.2]], "[2]", "must be [lat, lng]"),
        ([[45.47, 9.17], [45.47, 9.21], [45.45, 181]], "[2]", "must be [lat, lng]"),
        ([[45.47, 9.17], [45.47, 9.21], [45.45]], "[2]", "List should have at least 2 items"),
        ([[45.47, 9.17], [45.47, 9.21], "45.45,9.2"], "[2]", "must be an array"),
        # A bow tie: its edges cross.
        ([[45.47, 9.17], [45.45, 9.21], [45.47, 9.21], [45.45, 9.17]], "", "must be a simple"),
        ([[45.47, 9.17], [45.46, 9.18], [45.45, 9.19]], "", "must be a simple"),
    ],
)
def test_polygon_rules(polygon: list[Any], where: str, message: str) -> None:
    raw = bella()
    raw["zones"][0]["polygon"] = polygon

    errors = paths_of(document(raw))

    assert list(errors) == [f"{R}.zones[0].polygon{where}"]
    assert next(iter(errors.values())).startswith(message)


@pytest.mark.parametrize(
    ("radius", "valid"), [(0.5, True), (100, True), (0, False), (-1, False), (100.5, False)]
)
def test_radius_is_positive_and_at_most_100_km(radius: float, valid: bool) -> None:
    raw = bella()
    raw["zones"][1]["radius_km"] = radius

    if valid:
        assert parse_setup(document(raw)).restaurants[0].zones[1].radius_km == radius
    else:
        assert list(paths_of(document(raw))) == [f"{R}.zones[1].radius_km"]


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            {"type": "single", "max_selectable": 2},
            "max_selectable",
            "must be 1 for a single option",
        ),
        ({"type": "double"}, "type", "Input should be 'single' or 'multiple'"),
        (
            {
                "min_selectable": 2,
                "max_selectable": 1,
                "option_values": [{"uid": "a", "name": "A"}, {"uid": "b", "name": "B"}],
            },
            "max_selectable",
            "must be at least min_selectable (2)",
        ),
        ({"max_quantity": 0}, "max_quantity", "Input should be greater than or equal to 1"),
        ({"min_selectable": 2}, "option_values", "has 1 visible values but min_selectable is 2"),
        (
            {
                "option_values": [
                    {"uid": "a", "name": "A", "checked_default": True},
                    {"uid": "b", "name": "B", "checked_default": True},
                ],
                "max_selectable": 1,
            },
            "option_values",
            "has 2 checked_default values but max_selec",
        ),
        (
            {"option_values": [{"uid": "a", "name": "A", "price_operator": "*"}]},
            "option_values[0].price_operator",
            "Input should be '+', '-' or '='",
        ),
        (
            {"option_values": [{"uid": "a", "name": "A", "price_operand": -5}]},
            "option_values[0].price_operand",
            "Input should be greater than or equal to 0",
        ),
    ],
)
def test_option_rules(change: dict[str, Any], where: str, message: str) -> None:
    raw = bella()
    raw["products"][0]["options"][0].update(change)

    errors = paths_of(document(raw))

    assert list(errors) == [f"{R}.products[0].options[0].{where}"]
    assert next(iter(errors.values())).startswith(message)


def test_hidden_values_do_not_count_as_choosable() -> None:
    raw = bella()
    option = raw["products"][0]["options"][0]
    option.update(min_selectable=1)
    option["option_values"][0]["hidden"] = True

    assert list(paths_of(document(raw))) == [f"{R}.products[0].options[0].option_values"]


def test_ids_must_be_unique_where_they_are_matched() -> None:
    raw = bella()
    raw["webhooks"].append(dict(raw["webhooks"][0]))
    raw["zones"].append(dict(raw["zones"][1], radius_km=9))
    raw["categories"].append({"uid": "pizze", "name": "Pizze 2", "ext_id": "POS-D"})
    margherita = raw["products"][0]
    margherita["ext_id"] = "POS-1"
    option = margherita["options"][0]
    option["ext_id"] = "X"
    option["option_values"].append({"uid": "mozz", "name": "Mozzarella 2"})
    margherita["options"].append({"uid": "extra-2", "name": "Extra 2", "ext_id": "X"})
    raw["products"].append(
        {
            "uid": "margherita",
            "category_uid": "pizze",
            "name": "Copia",
            "price": 1,
            "ext_id": "POS-1",
            "options": [{"uid": "extra", "name": "Extra again"}],
        }
    )
    raw["coupons"].append({"code": "Welcome10", "discount_perc": 5})
    raw["coupon_generators"].append({"gencode": "BDAY", "discount_perc": 5})

    errors = paths_of(document(raw))

    assert errors == {
        f"{R}.webhooks[1].url": f"duplicate webhook url http://127.0.0.1:9999/hook; first used "
        f"at {R}.webhooks[0].url",
        f"{R}.zones[2].name": f"duplicate zone name Fuori; first used at {R}.zones[1].name",
        f"{R}.categories[2].uid": f"duplicate category uid pizze; first used at "
        f"{R}.categories[0].uid",
        f"{R}.categories[2].ext_id": f"duplicate category ext_id POS-D; first used at "
        f"{R}.categories[1].ext_id",
        f"{R}.products[0].options[0].option_values[1].uid": (
            f"duplicate value uid mozz; first used at "
            f"{R}.products[0].options[0].option_values[0].uid"
        ),
        f"{R}.products[0].options[1].ext_id": (
            f"duplicate option ext_id X; first used at {R}.products[0].options[0].ext_id"
        ),
        f"{R}.products[2].uid": f"duplicate product uid margherita; first used at "
        f"{R}.products[0].uid",
        f"{R}.products[2].ext_id": f"duplicate product ext_id POS-1; first used at "
        f"{R}.products[0].ext_id",
        f"{R}.products[2].options[0].uid": (
            f"duplicate option uid extra; first used at {R}.products[0].options[0].uid"
        ),
        f"{R}.coupons[2].code": f"duplicate coupon code WELCOME10; first used at "
        f"{R}.coupons[0].code",
        f"{R}.coupon_generators[1].gencode": f"duplicate gencode BDAY; first used at "
        f"{R}.coupon_generators[0].gencode",
    }


def test_lists_of_choices_may_not_repeat_an_entry() -> None:
    raw = bella()
    raw["dmethods"] = ["0", "1", "0"]
    raw["cash_subs"] = ["cash", "cash"]
    raw["clients"][0]["scopes"] = ["read:menu", "read:menu"]
    raw["coupons"][1]["valid_weekdays"] = ["mon", "mon"]
    raw["categories"][1]["subrestaurant_uids"] = ["bella-navigli", "bella-navigli"]

    assert paths_of(document(raw)) == {
        f"{R}.dmethods": "lists 0 more than once",
        f"{R}.cash_subs": "lists cash more than once",
        f"{R}.clients[0].scopes": "lists read:menu more than once",
        f"{R}.categories[1].subrestaurant_uids": "lists bella-navigli more than once",
        f"{R}.coupons[1].valid_weekdays": "lists mon more than once",
    }


def test_references_must_name_entities_of_the_same_restaurant() -> None:
    other = bella()
    other.update(uid="other", api_keys=[], clients=[], zones=[], categories=[], products=[])
    other["subrestaurants"] = [dict(centro(), uid="other-centro")]
    raw = bella()
    raw["zones"][0]["subrestaurant_uid"] = "other-centro"
    raw["categories"][1]["subrestaurant_uids"] = ["bella-duomo"]
    raw["products"][0]["category_uid"] = "primi"
    raw["products"][1]["subrestaurant_uids"] = ["bella-navigli", "other-centro"]

    assert paths_of(document(raw, other)) == {
        f"{R}.zones[0].subrestaurant_uid": "no subrestaurant other-centro in this restaurant",
        f"{R}.categories[1].subrestaurant_uids[0]": (
            "no subrestaurant bella-duomo in this restaurant"
        ),
        f"{R}.products[0].category_uid": "no category primi in this restaurant",
        f"{R}.products[1].subrestaurant_uids[1]": (
            "no subrestaurant other-centro in this restaurant"
        ),
    }


def test_server_wide_ids_are_unique_across_restaurants_and_stores() -> None:
    second = bella()
    second["name"] = "Bella bis"
    second["subrestaurants"][1]["uid"] = "acme-riga"
    second["zones"][1]["subrestaurant_uid"] = "bella-centro"
    second["categories"][1]["subrestaurant_uids"] = []
    second["products"][1]["subrestaurant_uids"] = []
    partners = [
        {
            "name": "acme",
            "title": "ACME",
            "stores": [
                {
                    "id": "acme-riga",
                    "title": "Riga",
                    "timezone": "Europe/Riga",
                    "masters": {"0712": 1, "1217": 1, "1721": 1},
                }
            ],
        }
    ]

    errors = paths_of(document(bella(), second, partners=partners))

    s = "$.restaurants[1]"
    assert errors == {
        f"{s}.uid": f"duplicate restaurant uid bella; first used at {R}.uid",
        f"{s}.api_keys[0]": f"duplicate API key; first used at {R}.api_keys[0]",
        f"{s}.clients[0].client_id": f"duplicate client_id bella-web; first used at "
        f"{R}.clients[0].client_id",
        f"{s}.subrestaurants[0].uid": f"duplicate subrestaurant uid bella-centro; first used "
        f"at {R}.subrestaurants[0].uid",
        f"{s}.subrestaurants[1].uid": "uid acme-riga is already the store id at "
        "$.partners[0].stores[0].id",
    }
    assert API_KEY not in str(errors)


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("uid", "bella pizzeria", "must start with a letter or digit"),
        ("uid", "-bella", "must start with a letter or digit"),
        ("uid", "b" * 101, "String should have at most 100 characters"),
        ("language", "ita", "must be a 2-letter lower-case ISO 639-1"),
        ("language", "xx", "must be a 2-letter lower-case ISO 639-1"),
        ("currency", "XYZ", "must be a 3-letter upper-case ISO 4217"),
        ("currency", "eur", "must be a 3-letter upper-case ISO 4217"),
        ("api_keys", [" " + API_KEY], "must not start or end with whitespace"),
        ("api_keys", ["x" * 11], "String should have at least 12 characters"),
        ("dmethods", ["2"], "unknown delivery method"),
        ("dmethods", ["0e-"], "unknown delivery method"),
        ("dmethods", ["dcf-a_b"], "unknown delivery method"),
        ("cash_subs", [""], "String should have at least 1 character"),
    ],
)
def test_restaurant_field_rules(where: str, value: object, message: str) -> None:
    raw = bella()
    raw[where] = value

    errors = errors_of(document(raw))

    assert len(errors) == 1
    assert errors[0].path.startswith(f"{R}.{where}")
    assert errors[0].message.startswith(message)


def test_every_delivery_method_form_is_accepted() -> None:
    raw = bella()
    raw["dmethods"] = ["0", "1", "0t", "20", "0e-7", "0e-Abc12", "dcf-3", "dcf-X9"]

    assert parse_setup(document(raw)).restaurants[0].dmethods == raw["dmethods"]


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"client_secret": "too short"}, "client_secret", "String should have at least 12"),
        ({"client_secret": CLIENT_SECRET + " "}, "client_secret", "must not start or end"),
        ({"scopes": []}, "scopes", "List should have at least 1 item"),
        ({"scopes": ["write:order"]}, "scopes[0]", "Input should be 'write:orders'"),
        ({"active": "yes"}, "active", "must be true or false"),
    ],
)
def test_client_rules(change: dict[str, Any], where: str, message: str) -> None:
    raw = bella()
    raw["clients"][0].update(change)

    errors = errors_of(document(raw))

    assert [e.path for e in errors] == [f"{R}.clients[0].{where}"]
    assert errors[0].message.startswith(message)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"country": "EU"}, "country", "must be a 2-letter upper-case ISO 3166"),
        ({"country": "it"}, "country", "must be a 2-letter upper-case ISO 3166"),
        ({"phone": "12345"}, "phone", "is not a valid phone number"),
        ({"phone": "+1 202 555 0"}, "phone", "is not a valid phone number"),
        ({"email": "centro at bella"}, "email", "must be an e-mail address"),
        ({"lead_minutes": -1}, "lead_minutes", "Input should be greater than or equal to 0"),
        ({"address": " "}, "address", "must not be empty"),
    ],
)
def test_subrestaurant_rules(change: dict[str, Any], where: str, message: str) -> None:
    raw = bella()
    raw["subrestaurants"][0].update(change)

    errors = errors_of(document(raw))

    assert [e.path for e in errors] == [f"{R}.subrestaurants[0].{where}"]
    assert errors[0].message.startswith(message)


def test_a_national_phone_number_is_read_in_the_locations_country() -> None:
    raw = bella()
    raw["subrestaurants"][0]["phone"] = "02 8646 1234"

    assert parse_setup(document(raw)).restaurants[0].subrestaurants[0].phone == "02 8646 1234"


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"discount_perc": 0}, "discount_amount", "discount_perc or discount_amount must be above"),
        ({"discount_perc": -1}, "discount_perc", "Input should be greater than or equal to 0"),
        ({"quantity": -1}, "quantity", "Input should be greater than or equal to 0"),
        ({"valid_from": "2026-02-30"}, "valid_from", "is not a valid calendar date"),
        ({"valid_to": "31.12.2027"}, "valid_to", "must be a date in the form YYYY-MM-DD"),
        ({"valid_weekdays": ["monday"]}, "valid_weekdays[0]", "Input should be 'mon'"),
        ({"valid_weekdays": [1]}, "valid_weekdays[0]", "Input should be 'mon'"),
        ({"valid_email": "anna"}, "valid_email", "must be an e-mail address"),
        ({"code": "WELCOME 10"}, "code", "must contain only letters, digits"),
        ({"order_min": -100}, "order_min", "Input should be greater than or equal to 0"),
    ],
)
def test_coupon_rules(change: dict[str, Any], where: str, message: str) -> None:
    raw = bella()
    raw["coupons"][0].update(change)

    errors = errors_of(document(raw))

    assert [e.path for e in errors] == [f"{R}.coupons[0].{where}"]
    assert errors[0].message.startswith(message)


def test_coupon_quantity_may_be_zero_or_null_and_dates_may_be_one_day() -> None:
    raw = bella()
    raw["coupons"][0].update(quantity=0, valid_from="2026-05-01", valid_to="2026-05-01")
    raw["coupons"][1]["quantity"] = None

    coupons = parse_setup(document(raw)).restaurants[0].coupons

    assert (coupons[0].quantity, coupons[1].quantity) == (0, None)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"valid_days": 3651}, "valid_days", "Input should be less than or equal to 3650"),
        ({"discount_perc": 0}, "discount_amount", "discount_perc or discount_amount must be above"),
        ({"gencode": "B DAY"}, "gencode", "must contain only letters, digits"),
    ],
)
def test_coupon_generator_rules(change: dict[str, Any], where: str, message: str) -> None:
    raw = bella()
    raw["coupon_generators"][0].update(change)

    errors = errors_of(document(raw))

    assert [e.path for e in errors] == [f"{R}.coupon_generators[0].{where}"]
    assert errors[0].message.startswith(message)


def test_restaurant_errors_come_between_items_and_places() -> None:
    raw = document(dict(bella(), language="xx"))
    raw["items"] = [{"id": 0, "title": "Lamp", "category": "lighting", "currency": "EUR"}]
    raw["places"] = [
        {
            "place_id": "p",
            "street": "Via Roma",
            "city": "Milano",
            "country": "IT",
            "lat": 100,
            "lng": 9,
        }
    ]

    assert [e.path for e in errors_of(raw)] == ["$.items[0].id", f"{R}.language", "$.places[0].lat"]


# --- applying -------------------------------------------------------------------------------

# Every table a setup document writes.
TABLES = (
    "organizations",
    "api_users",
    "webhook_subscriptions",
    "locations",
    "capacity_overrides",
    "categories",
    "products",
    "places",
    "api_keys",
    "api_clients",
    "delivery_zones",
    "product_options",
    "option_values",
    "coupons",
    "coupon_generators",
)


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every setup table, all columns (timestamps too), in a stable order."""
        result: dict[str, list[tuple[Any, ...]]] = {}
        async with self.engine.connect() as conn:
            for table in TABLES:
                rows = await conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
                result[table] = sorted((tuple(row) for row in rows), key=repr)
        return result

    async def all(self, stmt: Any) -> list[Any]:
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

    async def one(self, stmt: Any) -> Any:
        async with self.sessions() as session:
            return (await session.scalars(stmt)).one()

    async def execute(self, stmt: Any) -> None:
        async with self.sessions() as session:
            await session.execute(stmt)
            await session.commit()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    """A fresh migrated database per test: snapshots compare whole tables."""
    postgres = request.param == "postgres"
    url = await create_pg_database() if postgres else f"sqlite:///{tmp_path / 'bella.db'}"
    engine = create_engine(url, pool_size=2)
    try:
        await migrate(engine)
        yield Database(url, engine, create_sessionmaker(engine))
    finally:
        await engine.dispose()
        if postgres:
            await drop_pg_database(url)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


BELLA_LABELS = [
    "restaurant bella",
    f"api_key bella/{digest(API_KEY)[:8]}",
    "client bella-web",
    "webhook bella http://127.0.0.1:9999/hook",
    "subrestaurant bella-centro",
    "subrestaurant bella-navigli",
    "zone bella/Centro",
    "zone bella/Fuori",
    "category bella/pizze",
    "category bella/dolci",
    "product bella/margherita",
    "product bella/tiramisu",
    "option bella/extra",
    "option_value bella/extra/mozz",
    "coupon bella/WELCOME10",
    "coupon bella/ESTATE",
    "generator bella/BDAY",
]


async def test_first_apply_creates_the_restaurant_and_everything_in_it(db: Database) -> None:
    report = await apply_file(db.url, document())

    assert report.created == BELLA_LABELS
    assert (report.updated, report.unchanged) == ([], [])
    org = await db.one(select(Organization))
    assert (org.kind, org.key, org.title) == ("restaurant", "bella", "Pizzeria Bella")
    assert org.settings == {
        "timezone": "Europe/Rome",
        "language": "it",
        "currency": "EUR",
        "auto_confirm": False,
        "countdown_seconds": 300,
        "dmethods": ["0", "1", "0t", "20", "0e-7", "dcf-3"],
        "cash_subs": ["cash", "pos"],
        "api_enabled": True,
        "applied_coupon_quantities": {"WELCOME10": 100, "ESTATE": None},
    }
    key = await db.one(select(ApiKey))
    assert (key.organization_id, key.key_hash, key.revoked_at) == (org.id, digest(API_KEY), None)
    client = await db.one(select(ApiClient))
    assert (client.organization_id, client.client_id, client.scopes, client.active) == (
        org.id,
        "bella-web",
        ["write:orders", "read:orders", "read:menu"],
        True,
    )
    assert client.secret_hash.startswith("$argon2id$")
    assert password_matches(client.secret_hash, CLIENT_SECRET)
    hook = await db.one(select(WebhookSubscription))
    assert (hook.organization_id, hook.secret, hook.active) == (org.id, "whsec-bella", True)
    centro_row = await db.one(select(Location).where(Location.key == "bella-centro"))
    assert (
        centro_row.organization_id,
        centro_row.title,
        centro_row.timezone,
        centro_row.slot_capacity,
    ) == (org.id, "Centro", "Europe/Rome", {})
    assert centro_row.settings == {
        "code": "C",
        "address": "Via Orefici 2",
        "city": "Milano",
        "province": "MI",
        "zip": "20123",
        "country": "IT",
        "lat": 45.4642,
        "lng": 9.19,
        "phone": "+39 02 8646 1234",
        "email": "centro@bella.example",
        "opening_hours": {
            "mon": [["11:30", "14:30"], ["18:30", "23:00"]],
            "sat": [["11:30", "24:00"]],
        },
        "lead_minutes": 25,
        "slot_minutes": 20,
        "orders_per_slot": 6,
    }
    zones = await db.all(select(DeliveryZone).order_by(DeliveryZone.position))
    assert [(z.name, z.position, z.fee, z.order_min, z.radius_km) for z in zones] == [
        ("Centro", 0, 250, 1500, None),
        ("Fuori", 1, 450, 2000, 6.0),
    ]
    assert zones[0].polygon == [[45.47, 9.17], [45.47, 9.21], [45.45, 9.21], [45.45, 9.17]]
    assert zones[0].location_id == centro_row.id
    tiramisu = await db.one(select(Product).where(Product.uid == "tiramisu"))
    dolci = await db.one(select(Category).where(Category.uid == "dolci"))
    assert (
        tiramisu.organization_id,
        tiramisu.category_id,
        tiramisu.description,
        tiramisu.price,
        tiramisu.currency,
        tiramisu.search_text,
        tiramisu.location_keys,
        tiramisu.position,
    ) == (org.id, dolci.id, "Mascarpone, savoiardi", 550, "EUR", "tiramisu", ["bella-navigli"], 1)
    assert (dolci.organization_id, dolci.ext_id, dolci.location_keys) == (
        org.id,
        "POS-D",
        ["bella-navigli"],
    )
    option = await db.one(select(ProductOption))
    value = await db.one(select(OptionValue))
    assert (option.uid, option.max_selectable, option.max_quantity) == ("extra", 3, 2)
    assert (value.option_id, value.price_operator, value.price_operand) == (option.id, "+", 100)
    coupons = {c.code: c for c in await db.all(select(Coupon))}
    assert (
        coupons["WELCOME10"].quantity,
        coupons["WELCOME10"].valid_from,
        coupons["WELCOME10"].valid_to,
    ) == (100, date(2026, 1, 1), date(2027, 12, 31))
    estate = coupons["ESTATE"]
    assert (
        estate.discount_perc,
        estate.discount_amount,
        estate.quantity,
        estate.valid_weekdays,
        estate.valid_email,
    ) == (0, 300, None, [1, 5], "anna@example.com")
    generator = await db.one(select(CouponGenerator))
    assert (
        generator.organization_id,
        generator.gencode,
        generator.discount_perc,
        generator.valid_days,
    ) == (org.id, "BDAY", 15, 30)


async def test_second_apply_changes_nothing(db: Database) -> None:
    await apply_file(db.url, document())
    before = await db.snapshot()

    report = await apply_file(db.url, document())

    assert (report.created, report.updated) == ([], [])
    assert report.unchanged == BELLA_LABELS
    assert await db.snapshot() == before


async def test_changed_document_updates_in_place(db: Database) -> None:
    await apply_file(db.url, document())
    centro_before = await db.one(select(Location).where(Location.key == "bella-centro"))
    product_ids = {p.uid: p.id for p in await db.all(select(Product))}
    raw = bella()
    raw.update(name="Pizzeria Bella Milano", auto_confirm=True, countdown_seconds=600)
    raw["clients"][0].update(
        client_secret="a rotated client secret", scopes=["read:menu"], active=False
    )
    raw["webhooks"][0]["secret"] = "whsec-rotated"
    raw["subrestaurants"][0]["opening_hours"] = {"tue": [["12:00", "15:00"]]}
    raw["zones"].reverse()
    raw["zones"][0]["fee"] = 500
    raw["products"][0].update(name="Margherita DOP", price=800)
    raw["products"][0]["options"][0]["option_values"][0]["price_operand"] = 150
    raw["coupons"][1]["valid_weekdays"] = ["sat"]
    raw["coupon_generators"][0]["valid_days"] = 60

    report = await apply_file(db.url, document(raw))

    assert report.updated == [
        "restaurant bella",
        "client bella-web",
        "webhook bella http://127.0.0.1:9999/hook",
        "subrestaurant bella-centro",
        "zone bella/Fuori",
        "zone bella/Centro",
        "product bella/margherita",
        "option_value bella/extra/mozz",
        "coupon bella/ESTATE",
        "generator bella/BDAY",
    ]
    assert report.created == []
    org = await db.one(select(Organization))
    assert (org.title, org.settings["auto_confirm"], org.settings["countdown_seconds"]) == (
        "Pizzeria Bella Milano",
        True,
        600,
    )
    client = await db.one(select(ApiClient))
    assert (client.scopes, client.active) == (["read:menu"], False)
    assert password_matches(client.secret_hash, "a rotated client secret")
    centro_row = await db.one(select(Location).where(Location.key == "bella-centro"))
    assert centro_row.id == centro_before.id
    assert centro_row.settings["opening_hours"] == {"tue": [["12:00", "15:00"]]}
    assert centro_row.updated_at > centro_before.updated_at
    zones = await db.all(select(DeliveryZone).order_by(DeliveryZone.position))
    assert [(z.name, z.fee) for z in zones] == [("Fuori", 500), ("Centro", 250)]
    margherita = await db.one(select(Product).where(Product.uid == "margherita"))
    assert (margherita.id, margherita.name, margherita.search_text, margherita.price) == (
        product_ids["margherita"],
        "Margherita DOP",
        "margherita dop",
        800,
    )
    assert (await db.one(select(OptionValue))).price_operand == 150
    assert (await db.one(select(Coupon).where(Coupon.code == "ESTATE"))).valid_weekdays == [6]
    assert (await db.one(select(CouponGenerator))).valid_days == 60


async def test_entities_missing_from_the_document_are_left_alone(db: Database) -> None:
    await apply_file(db.url, document())
    before = await db.snapshot()
    raw = bella()
    for section in (
        "api_keys",
        "clients",
        "webhooks",
        "zones",
        "categories",
        "products",
        "coupons",
        "coupon_generators",
    ):
        raw[section] = []
    raw["subrestaurants"] = raw["subrestaurants"][:1]

    report = await apply_file(db.url, document(raw))

    assert report.unchanged == ["restaurant bella", "subrestaurant bella-centro"]
    assert await db.snapshot() == before
    assert not any(p.hidden for p in await db.all(select(Product)))


async def test_coupon_quantity_is_written_only_when_the_document_changes_it(
    db: Database,
) -> None:
    await apply_file(db.url, document())
    welcome = Coupon.code == "WELCOME10"

    async def quantity() -> int | None:
        coupon: Coupon = await db.one(select(Coupon).where(welcome))
        return coupon.quantity

    await db.execute(update(Coupon).where(welcome).values(quantity=97))  # three uses taken
    report = await apply_file(db.url, document())
    assert await quantity() == 97
    assert "coupon bella/WELCOME10" in report.unchanged

    raw = bella()
    raw["coupons"][0]["quantity"] = 200  # the operator tops it up
    report = await apply_file(db.url, document(raw))
    assert await quantity() == 200
    assert "coupon bella/WELCOME10" in report.updated

    await db.execute(update(Coupon).where(welcome).values(quantity=150))
    await apply_file(db.url, document(raw))
    assert await quantity() == 150

    del raw["coupons"][0]["quantity"]  # unlimited from now on
    await apply_file(db.url, document(raw))
    assert await quantity() is None


async def test_settings_and_columns_written_by_others_are_kept(db: Database) -> None:
    await apply_file(db.url, document())
    org = await db.one(select(Organization))
    await db.execute(update(Organization).values(settings={**org.settings, "console_note": "VIP"}))
    centro_row = await db.one(select(Location).where(Location.key == "bella-centro"))
    await db.execute(
        update(Location)
        .where(Location.id == centro_row.id)
        .values(settings={**centro_row.settings, "paused": True})
    )
    before = await db.snapshot()

    report = await apply_file(db.url, document())

    assert report.updated == []
    assert await db.snapshot() == before
    assert (await db.one(select(Organization))).settings["console_note"] == "VIP"


async def test_a_revoked_api_key_declared_again_is_reinstated(db: Database) -> None:
    await apply_file(db.url, document())
    await db.execute(update(ApiKey).values(revoked_at=(await db.one(select(ApiKey))).created_at))

    report = await apply_file(db.url, document())

    assert report.updated == [f"api_key bella/{digest(API_KEY)[:8]}"]
    assert (await db.one(select(ApiKey))).revoked_at is None


async def test_ids_owned_by_another_organization_change_nothing_at_all(db: Database) -> None:
    partner = {
        "name": "acme",
        "title": "ACME",
        "stores": [
            {
                "id": "acme-milano",
                "title": "Milano",
                "timezone": "Europe/Rome",
                "masters": {"0712": 1, "1217": 1, "1721": 1},
            }
        ],
    }
    await apply_file(db.url, document(partners=[partner]))
    before = await db.snapshot()
    rival = bella()
    rival.update(uid="rivale", name="Pizzeria Rivale")
    rival["subrestaurants"][1]["uid"] = "acme-milano"
    rival["zones"][1]["subrestaurant_uid"] = "acme-milano"
    rival["categories"][1]["subrestaurant_uids"] = ["acme-milano"]
    rival["products"][1]["subrestaurant_uids"] = []
    rival["coupons"].append({"code": "NUOVO", "discount_perc": 5})

    with pytest.raises(SetupInvalid) as caught:
        await apply_file(db.url, document(rival))
    with pytest.raises(SetupInvalid):
        await apply_file(db.url, document(rival), dry_run=True)

    assert [(e.path, e.message) for e in caught.value.errors] == [
        (f"{R}.subrestaurants[0].uid", 'uid is already a location of restaurant "bella"'),
        (f"{R}.subrestaurants[1].uid", 'uid is already a location of partner "acme"'),
        (f"{R}.api_keys[0]", 'API key already belongs to restaurant "bella"'),
        (f"{R}.clients[0].client_id", 'client_id already belongs to restaurant "bella"'),
    ]
    assert await db.snapshot() == before


async def test_a_partner_store_may_not_take_a_subrestaurant_uid(db: Database) -> None:
    await apply_file(db.url, document())
    before = await db.snapshot()
    partner = {
        "name": "acme",
        "title": "ACME",
        "stores": [
            {
                "id": "bella-centro",
                "title": "Milano",
                "timezone": "Europe/Rome",
                "masters": {"0712": 1, "1217": 1, "1721": 1},
            }
        ],
    }

    with pytest.raises(SetupInvalid) as caught:
        await apply_file(db.url, {"version": 1, "partners": [partner]})

    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("$.partners[0].stores[0].id", 'store id already belongs to restaurant "bella"')
    ]
    assert await db.snapshot() == before


async def test_two_restaurants_apply_side_by_side(db: Database) -> None:
    second = bella()
    second.update(uid="bella-2", api_keys=["another long api key"], clients=[])
    for index, sub in enumerate(second["subrestaurants"]):
        sub["uid"] = f"bis-{index}"
    second["zones"][0]["subrestaurant_uid"] = "bis-0"
    second["zones"][1]["subrestaurant_uid"] = "bis-1"
    second["categories"][1]["subrestaurant_uids"] = ["bis-1"]
    second["products"][1]["subrestaurant_uids"] = []

    first = await apply_file(db.url, document(bella(), second))
    before = await db.snapshot()
    again = await apply_file(db.url, document(bella(), second))

    assert "product bella-2/margherita" in first.created
    assert (again.created, again.updated) == ([], [])
    assert await db.snapshot() == before
    orgs = {o.key: o.id for o in await db.all(select(Organization))}
    products = await db.all(select(Product).where(Product.uid == "margherita"))
    assert sorted(p.organization_id for p in products) == sorted(orgs.values())


async def test_demo_applies_and_reapplies_unchanged(db: Database) -> None:
    doc = demo_document()

    first = await apply_file(db.url, doc)
    snapshot = await db.snapshot()
    second = await apply_file(db.url, doc)

    assert (second.created, second.updated) == ([], [])
    assert sorted(second.unchanged) == sorted(first.created)
    assert await db.snapshot() == snapshot
    bella_org = await db.one(select(Organization).where(Organization.kind == "restaurant"))
    key = await db.one(select(ApiKey))
    assert (key.organization_id, key.key_hash) == (bella_org.id, digest(DEMO_RESTAURANT_API_KEY))
    client = await db.one(select(ApiClient))
    assert client.client_id == DEMO_RESTAURANT_CLIENT_ID
    assert password_matches(client.secret_hash, DEMO_RESTAURANT_CLIENT_SECRET)
    assert len(client.scopes) == 5
    locations = await db.all(select(Location).where(Location.organization_id == bella_org.id))
    assert {loc.title for loc in locations} == {"Bella Centro", "Bella Navigli"}
    products = await db.all(select(Product).where(Product.organization_id == bella_org.id))
    assert len(products) >= 20
    operators = {v.price_operator for v in await db.all(select(OptionValue))}
    assert operators == {"+", "-", "="}


def test_demo_restaurant_is_valid_and_realistic() -> None:
    restaurant = parse_setup(demo_document()).restaurants[0]

    assert (restaurant.name, restaurant.timezone, restaurant.language, restaurant.currency) == (
        "Pizzeria Bella",
        "Europe/Rome",
        "it",
        "EUR",
    )
    assert [(s.city, round(s.lat, 2), round(s.lng, 2)) for s in restaurant.subrestaurants] == [
        ("Milano", 45.46, 9.19),
        ("Milano", 45.45, 9.18),
    ]
    for sub in restaurant.subrestaurants:
        assert set(sub.opening_hours) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
        assert all(len(ranges) == 2 for ranges in sub.opening_hours.values())
    assert {c.uid for c in restaurant.categories} == {"pizze", "primi", "bevande", "dolci"}
    assert 18 <= len(restaurant.products) <= 25
    options = [o for p in restaurant.products for o in p.options]
    assert any(
        o.type == "single" and any(v.price_operand == 300 for v in o.option_values) for o in options
    )
    assert any(o.type == "multiple" and o.max_selectable == 3 for o in options)
    assert any(
        v.price_operator == "=" and "glutine" in v.name.lower()
        for o in options
        for v in o.option_values
    )
    assert any(
        v.price_operator == "-" and v.price_operand == 50 for o in options for v in o.option_values
    )
    assert [z.polygon is not None for z in restaurant.zones].count(True) >= 1
    radius_zones = {z.subrestaurant_uid for z in restaurant.zones if z.radius_km}
    assert radius_zones == {s.uid for s in restaurant.subrestaurants}
    coupons = {c.code: c for c in restaurant.coupons}
    assert (coupons["WELCOME10"].discount_perc, coupons["WELCOME10"].order_min) == (10, 1500)
    assert coupons["ESTATE"].valid_weekdays
    assert any(c.discount_amount and not c.discount_perc for c in coupons.values())
    assert any(c.quantity == 3 for c in coupons.values())
    assert [g.gencode for g in restaurant.coupon_generators] == ["BDAY"]
    streets = {p.street for p in parse_setup(demo_document()).places}
    assert {
        "Via Torino",
        "Corso Buenos Aires",
        "Via Dante",
        "Corso di Porta Ticinese",
        "Via Montenapoleone",
        "Piazza del Duomo",
        "Alzaia Naviglio Grande",
    } <= streets


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2030, 12, 31), date(2099, 6, 15)])
def test_demo_restaurant_does_not_depend_on_the_day(today: date) -> None:
    doc = demo_document(today)

    assert parse_setup(doc).restaurants
    assert doc["restaurants"] == [demo_restaurant()]
    assert copy.deepcopy(demo_restaurant()) == demo_restaurant()
