"""Test data built through the setup document, the way operators build it.

Every call makes new partners, stores and items with unique ids, so tests never see each other's
data even though they share a database.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from orderdesk.http.state import AppState
from orderdesk.setup.apply import apply_setup
from orderdesk.setup.schema import parse_setup

_item_ids = itertools.count(1_000_000)
PASSWORD = "correct horse battery staple"


@dataclass
class PartnerSetup:
    name: str
    login: str
    password: str
    stores: list[str]
    items: list[int]
    document: dict[str, Any]


def item_doc(title: str, **extra: Any) -> dict[str, Any]:
    doc = {
        "id": next(_item_ids),
        "title": title,
        "category": "wardrobes",
        "delivery": True,
        "assembly": True,
        "delivery_price": 2500,
        "assembly_price": 6900,
        "currency": "EUR",
    }
    doc.update(extra)
    return doc


async def apply_document(state: AppState, document: dict[str, Any]) -> None:
    async with state.transaction() as session:
        await apply_setup(session, parse_setup(document))


async def make_partner(
    state: AppState,
    *,
    masters: dict[str, int] | None = None,
    masters_on: list[dict[str, Any]] | None = None,
    timezone: str = "Europe/Riga",
    stores: int = 1,
    items: list[dict[str, Any]] | None = None,
) -> PartnerSetup:
    suffix = secrets.token_hex(4)
    name = f"partner-{suffix}"
    login = f"api@{name}.example"
    store_docs = [
        {
            "id": f"{name}-store-{i}",
            "title": f"Store {i} of {name}",
            "timezone": timezone,
            "masters": masters if masters is not None else {"0712": 2, "1217": 2, "1721": 1},
            "masters_on": masters_on or [],
        }
        for i in range(stores)
    ]
    item_docs = (
        items
        if items is not None
        else [
            item_doc("PAX wardrobe 150x236"),
            item_doc("MALM bed frame 160x200", assembly=False, assembly_price=None),
        ]
    )
    for doc in item_docs:
        if doc.get("assembly_price") is None:
            doc.pop("assembly_price", None)
    document = {
        "version": 1,
        "partners": [
            {
                "name": name,
                "title": f"Partner {suffix}",
                "users": [{"login": login, "password": PASSWORD}],
                "stores": store_docs,
            }
        ],
        "items": item_docs,
    }
    await apply_document(state, document)
    return PartnerSetup(
        name, login, PASSWORD, [s["id"] for s in store_docs], [i["id"] for i in item_docs], document
    )


async def login(client: httpx.AsyncClient, partner: PartnerSetup) -> dict[str, str]:
    """Headers carrying a fresh token of ``partner``."""
    response = await client.post(
        "/partner/auth/authorize", json={"login": partner.login, "password": partner.password}
    )
    assert response.status_code == 200, response.text
    return {"token": response.json()["data"]["token"]}


def order_body(
    partner: PartnerSetup, dates: list[tuple[str, str]], **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"phone_number": "+371 20 000 000", "first_name": "Anna", "last_name": "Ozola"},
        "address": {
            "address": "Brivibas iela 1, Riga",
            "coordinates": {"lat": 56.95, "lon": 24.11},
            "details": "3rd floor",
            "zip": "LV-1010",
        },
        "partner_details": {
            "store_id": partner.stores[0],
            "items": [{"id": partner.items[0], "count": 1, "delivery": True, "assembly": True}],
            "instock": True,
            "delivery_type": "to_door_by_lift",
        },
        "datetime": [{"date": d, "timeslot": s} for d, s in dates],
        "payment_method": "cash",
        "image_uuids": [],
    }
    body.update(overrides)
    return body


# --------------------------------------------------------------------------------------------
# Restaurants


def counter_order_body(**overrides: Any) -> dict[str, Any]:
    """A cash order for one ``margherita`` eaten in (``0t``), as the restaurant itself enters it.

    The smallest order the restaurant dialect accepts: the races across worker processes send
    it by the hundred against documents that define just that product.
    """
    body: dict[str, Any] = {
        "client": {
            "first_name": "Anna",
            "last_name": "Rossi",
            "email": "anna@example.com",
            "phone": "+39 02 1234567",
        },
        "dmethod": "0t",
        "payment_method": "cash",
        "payment_method_sub": "cash",
        "details": [{"product": {"uid": "margherita"}, "quantity": 1}],
        "creator": "restaurant",
    }
    body.update(overrides)
    return body


EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_SCOPES = ["write:orders", "read:orders", "read:menu", "write:menu", "write:coupons"]


@dataclass
class RestaurantSetup:
    uid: str
    api_key: str
    client_id: str
    client_secret: str
    locations: list[str]
    document: dict[str, Any]

    @property
    def client_headers(self) -> dict[str, str]:
        return {"X-Client-Id": self.client_id, "X-Client-Secret": self.client_secret}

    @property
    def key_headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.api_key}


def restaurant_doc(**overrides: Any) -> dict[str, Any]:
    """A complete restaurant section with unique ids: two Milano locations open all day, a menu
    with every kind of option, zones, coupons and a generator. Override any top-level key."""
    suffix = secrets.token_hex(4)
    uid = f"resto-{suffix}"
    all_day = {day: [["00:00", "24:00"]] for day in EVERY_DAY}
    doc: dict[str, Any] = {
        "uid": uid,
        "name": f"Trattoria {suffix}",
        "timezone": "Europe/Rome",
        "language": "it",
        "currency": "EUR",
        "auto_confirm": False,
        "countdown_seconds": 300,
        "api_keys": [f"key-{suffix}-0123456789"],
        "clients": [
            {
                "client_id": f"{uid}-web",
                "client_secret": f"secret-{suffix}-0123456789",
                "scopes": ALL_SCOPES,
            }
        ],
        "subrestaurants": [
            {
                "uid": f"{uid}-centro",
                "name": "Centro",
                "code": "C",
                "address": "Via Roma 1",
                "city": "Milano",
                "province": "MI",
                "zip": "20121",
                "country": "IT",
                "lat": 45.4642,
                "lng": 9.19,
                "opening_hours": all_day,
                "lead_minutes": 20,
                "slot_minutes": 15,
                "orders_per_slot": 4,
            },
            {
                "uid": f"{uid}-navigli",
                "name": "Navigli",
                "code": "N",
                "address": "Ripa di Porta Ticinese 7",
                "city": "Milano",
                "province": "MI",
                "zip": "20143",
                "country": "IT",
                "lat": 45.452,
                "lng": 9.176,
                "opening_hours": all_day,
                "lead_minutes": 20,
                "slot_minutes": 15,
                "orders_per_slot": 4,
            },
        ],
        "dmethods": ["0", "1", "0t", "20", "0e-7", "dcf-3"],
        "cash_subs": ["cash", "pos"],
        "zones": [
            {
                "name": "Centro",
                "subrestaurant_uid": f"{uid}-centro",
                "fee": 250,
                "order_min": 1500,
                "polygon": [[45.47, 9.17], [45.47, 9.21], [45.455, 9.21], [45.455, 9.17]],
            },
            {
                "name": "Navigli",
                "subrestaurant_uid": f"{uid}-navigli",
                "fee": 300,
                "order_min": 1000,
                "radius_km": 1.5,
            },
            {
                "name": "Fuori",
                "subrestaurant_uid": f"{uid}-centro",
                "fee": 450,
                "order_min": 2000,
                "radius_km": 6,
            },
        ],
        "categories": [
            {"uid": f"{uid}-pizze", "name": "Pizze"},
            {"uid": f"{uid}-bevande", "name": "Bevande"},
        ],
        "products": [
            {
                "uid": f"{uid}-margherita",
                "category_uid": f"{uid}-pizze",
                "name": "Margherita",
                "price": 750,
                "options": [
                    {
                        "uid": f"{uid}-size",
                        "name": "Size",
                        "type": "single",
                        "min_selectable": 1,
                        "max_selectable": 1,
                        "max_quantity": 1,
                        "option_values": [
                            {
                                "uid": "normale",
                                "name": "Normale",
                                "price_operator": "+",
                                "price_operand": 0,
                            },
                            {
                                "uid": "maxi",
                                "name": "Maxi",
                                "price_operator": "+",
                                "price_operand": 300,
                            },
                            {
                                "uid": "gluten-free",
                                "name": "Senza glutine",
                                "price_operator": "=",
                                "price_operand": 1000,
                            },
                        ],
                    },
                    {
                        "uid": f"{uid}-extra",
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
                            },
                            {
                                "uid": "basil",
                                "name": "Basilico",
                                "price_operator": "+",
                                "price_operand": 50,
                            },
                            {
                                "uid": "no-cheese",
                                "name": "Senza formaggio",
                                "price_operator": "-",
                                "price_operand": 80,
                            },
                        ],
                    },
                ],
            },
            {
                "uid": f"{uid}-acqua",
                "category_uid": f"{uid}-bevande",
                "name": "Acqua",
                "price": 200,
            },
            {
                "uid": f"{uid}-hidden",
                "category_uid": f"{uid}-pizze",
                "name": "Segreta",
                "price": 900,
                "hidden": True,
            },
            {
                "uid": f"{uid}-navigli-only",
                "category_uid": f"{uid}-pizze",
                "name": "Navigli",
                "price": 950,
                "subrestaurant_uids": [f"{uid}-navigli"],
            },
        ],
        "coupons": [
            {
                "code": f"WELCOME{suffix}".upper(),
                "discount_perc": 10,
                "quantity": 100,
                "order_min": 1000,
                "valid_from": "2020-01-01",
                "valid_to": "2099-12-31",
            },
            {
                "code": f"LAST{suffix}".upper(),
                "discount_perc": 20,
                "quantity": 1,
                "valid_from": "2020-01-01",
                "valid_to": "2099-12-31",
            },
        ],
        "coupon_generators": [
            {"gencode": f"BDAY{suffix}".upper(), "discount_perc": 15, "valid_days": 30}
        ],
    }
    doc.update(overrides)
    return doc


async def make_restaurant(
    state: AppState, *, places: list[dict[str, Any]] | None = None, **overrides: Any
) -> RestaurantSetup:
    """Apply a restaurant (and optional gazetteer places) through the setup document."""
    doc = restaurant_doc(**overrides)
    document: dict[str, Any] = {"version": 1, "restaurants": [doc]}
    if places:
        document["places"] = places
    await apply_document(state, document)
    return RestaurantSetup(
        doc["uid"],
        doc["api_keys"][0],
        doc["clients"][0]["client_id"],
        doc["clients"][0]["client_secret"],
        [s["uid"] for s in doc["subrestaurants"]],
        document,
    )


MILANO_PLACES = [
    {
        "place_id": "via-dante-10-milano",
        "street": "Via Dante",
        "number": "10",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
        "country": "IT",
        "lat": 45.4660,
        "lng": 9.1860,
    },
    {
        "place_id": "via-torino-20-milano",
        "street": "Via Torino",
        "number": "20",
        "city": "Milano",
        "province": "MI",
        "zip": "20123",
        "country": "IT",
        "lat": 45.4612,
        "lng": 9.1855,
    },
    {
        "place_id": "corso-buenos-aires-50-milano",
        "street": "Corso Buenos Aires",
        "number": "50",
        "city": "Milano",
        "province": "MI",
        "zip": "20124",
        "country": "IT",
        "lat": 45.4810,
        "lng": 9.2100,
    },
    {
        "place_id": "piazza-duomo-bergamo",
        "street": "Piazza del Duomo",
        "number": "1",
        "city": "Bergamo",
        "province": "BG",
        "zip": "24129",
        "country": "IT",
        "lat": 45.7035,
        "lng": 9.6625,
    },
]
