"""What the benchmark asks of orderdesk: the setup document, the order bodies and the reads.

One place defines the shapes, so the template orders created in-process (which the bulk
generator copies) and the bodies wrk sends are built from the same templates: when the
in-process creates succeed, the load's bodies are valid too.

Partner ``bench-a`` and restaurant ``bench-trattoria`` are the ones measured; the other
organizations exist so that the order table holds several tenants, as a real one does.
Capacity is ample on purpose (1000 masters per store and timeslot, 10000 orders per restaurant
slot): a benchmark that runs out of slots measures refusals, not order intake.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PASSWORD = "bench-password-0123456789"
RESTAURANT_TZ = "Europe/Rome"
COUNTDOWN_SECONDS = 3600  # no countdown of a benchmark order runs out while the run lasts
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_SCOPES = ["write:orders", "read:orders", "read:menu", "write:menu", "write:coupons"]


@dataclass(frozen=True)
class Partner:
    name: str
    title: str
    stores: tuple[tuple[str, str], ...]  # (store id, time zone)

    @property
    def login(self) -> str:
        return f"api@{self.name}.example"


PARTNERS = (
    Partner(
        "bench-a",
        "Bench Furniture",
        (
            ("bench-a-riga", "Europe/Riga"),
            ("bench-a-tallinn", "Europe/Tallinn"),
            ("bench-a-vilnius", "Europe/Vilnius"),
        ),
    ),
    Partner(
        "bench-b",
        "Bench Kitchens",
        (("bench-b-berlin", "Europe/Berlin"), ("bench-b-hamburg", "Europe/Berlin")),
    ),
    Partner("bench-c", "Bench Home", (("bench-c-brooklyn", "America/New_York"),)),
)


@dataclass(frozen=True)
class Location:
    uid: str
    name: str
    address: str
    lat: float
    lng: float
    place_id: str  # a gazetteer place inside this location's delivery zone


@dataclass(frozen=True)
class Restaurant:
    uid: str
    name: str
    locations: tuple[Location, ...]

    @property
    def api_key(self) -> str:
        return f"{self.uid}-api-key-0123456789"

    @property
    def client_id(self) -> str:
        return f"{self.uid}-web"

    @property
    def client_secret(self) -> str:
        return f"{self.uid}-client-secret-0123456789"


RESTAURANTS = (
    Restaurant(
        "bench-trattoria",
        "Trattoria Bench",
        (
            Location(
                "bench-trattoria-centro",
                "Centro",
                "Via Orefici 2",
                45.4642,
                9.19,
                "bench-via-dante-10",
            ),
            Location(
                "bench-trattoria-navigli",
                "Navigli",
                "Alzaia Naviglio Grande 20",
                45.452,
                9.176,
                "bench-via-torino-20",
            ),
        ),
    ),
    Restaurant(
        "bench-osteria",
        "Osteria Bench",
        (
            Location(
                "bench-osteria-brera",
                "Brera",
                "Via Solferino 11",
                45.4755,
                9.187,
                "bench-corso-garibaldi-50",
            ),
        ),
    ),
)
PLACES = [
    {
        "place_id": "bench-via-dante-10",
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
        "place_id": "bench-via-torino-20",
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
        "place_id": "bench-corso-garibaldi-50",
        "street": "Corso Garibaldi",
        "number": "50",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
        "country": "IT",
        "lat": 45.4780,
        "lng": 9.1840,
    },
]
COUPON = "BENCH10"

# Where generated orders go: 20 shares, cycled in this order (so ids interleave tenants as
# they would in production). The measured partner holds 60 %, the measured restaurant 20 %.
MIX = ["bench-a"] * 12 + ["bench-b"] * 2 + ["bench-c"] + ["bench-trattoria"] * 4 + ["bench-osteria"]

# Catalog words: item titles are "LINE KIND WxH, COLOUR", as furniture catalogs name things.
LINES = ["PAX", "MALM", "HEMNES", "Fjord", "Étagère", "KALLAX", "BILLY", "Größe", "Sørli", "Nord"]
KINDS = [
    "wardrobe",
    "bed frame",
    "sofa",
    "kitchen cabinet",
    "bookcase",
    "desk",
    "chair",
    "dresser",
    "shelf unit",
    "dining table",
]
CATEGORIES = [
    "wardrobes",
    "beds",
    "sofas",
    "kitchens",
    "bookcases",
    "desks",
    "chairs",
    "dressers",
    "shelving",
    "tables",
]
COLOURS = ["white", "black-brown", "oak veneer", "grey", "birch", "walnut", "blue", "green"]
ITEM_SEARCHES = [
    "wardr",
    "pax white",
    "etagere",
    "sorli desk 120",
    "kitchen cab oak",
    "grosse sofa",
    "billy book",
    "nord dining",
]

FIRST_NAMES = [
    "Anna",
    "Jānis",
    "Līga",
    "Jürgen",
    "Zoë",
    "Søren",
    "Giulia",
    "Łukasz",
    "Marta",
    "Élodie",
    "Mārtiņš",
    "Oskar",
    "Ieva",
    "Matteo",
    "Ingrid",
    "Tomás",
]
LAST_NAMES = [
    "Ozola",
    "Bērziņš",
    "Müller",
    "Rossi",
    "Kalniņš",
    "Schmidt",
    "Esposito",
    "Novak",
    "Dubois",
    "Hansen",
    "Liepiņa",
    "Fischer",
    "Ricci",
    "Kowalski",
    "Jansons",
    "Weber",
    "Bianchi",
    "Petersen",
    "Krūmiņa",
    "García",
]
# One order in 50,000 gets one of these: the text query that "matches few orders" looks for
# them (about three matches each at 1,000,000 orders, none at 10,000).
RARE_LAST_NAMES = ["Zvaigzne", "Quintanilla", "Przybyszewski", "Vanagaitė"]
RARE_EVERY = 50_000


def item_title(g: int) -> str:
    """Title of generated item ``g`` (item id ``g + 1``); the kind, and so the category, is
    ``g % 10``, so item ``g`` has the same category as template item ``g % 10``."""
    return (
        f"{LINES[(g // 10) % 10]} {KINDS[g % 10]} {60 + (g // 100) % 180}x"
        f"{80 + (g // 7) % 160}, {COLOURS[(g // 3) % 8]}"
    )


def template_items() -> list[dict[str, Any]]:
    """The first ten items, one per category: the rows the bulk generator copies."""
    return [
        {
            "id": g + 1,
            "title": item_title(g),
            "category": CATEGORIES[g],
            "delivery": True,
            "assembly": True,
            "delivery_price": 2500 + 500 * (g % 4),
            "assembly_price": 4900 + 1000 * (g % 5),
            "currency": "EUR",
        }
        for g in range(10)
    ]


def setup_document() -> dict[str, Any]:
    """The setup document ``orderdesk apply`` loads before any data is generated."""
    masters = {"0712": 1000, "1217": 1000, "1721": 1000}
    partners = [
        {
            "name": p.name,
            "title": p.title,
            "users": [{"login": p.login, "password": PASSWORD}],
            "stores": [
                {
                    "id": key,
                    "title": key.replace("-", " ").title(),
                    "timezone": tz,
                    "masters": masters,
                }
                for key, tz in p.stores
            ],
        }
        for p in PARTNERS
    ]
    return {
        "version": 1,
        "partners": partners,
        "items": template_items(),
        "restaurants": [_restaurant(r) for r in RESTAURANTS],
        "places": PLACES,
    }


def _restaurant(r: Restaurant) -> dict[str, Any]:
    all_day = {day: [["00:00", "24:00"]] for day in EVERY_DAY}
    first = r.locations[0]
    zones: list[dict[str, Any]] = [
        {
            "name": f"{loc.name} 2.5 km",
            "subrestaurant_uid": loc.uid,
            "fee": 250 + 50 * i,
            "order_min": 1500,
            "radius_km": 2.5,
        }
        for i, loc in enumerate(r.locations)
    ]
    zones.insert(
        0,
        {
            "name": "Centro storico",
            "subrestaurant_uid": first.uid,
            "fee": 200,
            "order_min": 1500,
            "polygon": [
                [45.4735, 9.185],
                [45.471, 9.1985],
                [45.465, 9.203],
                [45.4585, 9.199],
                [45.457, 9.188],
                [45.462, 9.1795],
                [45.469, 9.179],
            ],
        },
    )
    size = [
        {
            "uid": "normale",
            "name": "Normale",
            "price_operator": "+",
            "price_operand": 0,
            "checked_default": True,
        },
        {"uid": "maxi", "name": "Maxi", "price_operator": "+", "price_operand": 300},
    ]
    extras = [
        {"uid": uid, "name": name, "price_operator": "+", "price_operand": price}
        for uid, name, price in (
            ("bufala", "Mozzarella di bufala", 200),
            ("funghi", "Funghi", 100),
            ("olive", "Olive", 80),
            ("salame", "Salame piccante", 150),
        )
    ]

    def pizza(uid: str, name: str, price: int) -> dict[str, Any]:
        return {
            "uid": uid,
            "category_uid": "pizze",
            "name": name,
            "price": price,
            "ingredients": "Pomodoro, mozzarella fior di latte",
            "options": [
                {
                    "uid": f"{uid}-formato",
                    "name": "Formato",
                    "type": "single",
                    "min_selectable": 1,
                    "max_selectable": 1,
                    "option_values": size,
                },
                {
                    "uid": f"{uid}-extra",
                    "name": "Extra",
                    "type": "multiple",
                    "min_selectable": 0,
                    "max_selectable": 3,
                    "max_quantity": 2,
                    "option_values": extras,
                },
            ],
        }

    return {
        "uid": r.uid,
        "name": r.name,
        "timezone": RESTAURANT_TZ,
        "language": "it",
        "currency": "EUR",
        "auto_confirm": False,
        "countdown_seconds": COUNTDOWN_SECONDS,
        "api_keys": [r.api_key],
        "clients": [
            {"client_id": r.client_id, "client_secret": r.client_secret, "scopes": ALL_SCOPES}
        ],
        "subrestaurants": [
            {
                "uid": loc.uid,
                "name": loc.name,
                "code": loc.name[:3].upper(),
                "address": loc.address,
                "city": "Milano",
                "province": "MI",
                "zip": "20121",
                "country": "IT",
                "lat": loc.lat,
                "lng": loc.lng,
                "opening_hours": all_day,
                "lead_minutes": 20,
                "slot_minutes": 15,
                "orders_per_slot": 10000,
            }
            for loc in r.locations
        ],
        "dmethods": ["0", "1"],
        "cash_subs": ["contanti", "pos"],
        "zones": zones,
        "categories": [{"uid": "pizze", "name": "Pizze"}, {"uid": "bevande", "name": "Bevande"}],
        "products": [
            pizza("margherita", "Margherita", 750),
            pizza("diavola", "Diavola", 900),
            {"uid": "acqua", "category_uid": "bevande", "name": "Acqua naturale", "price": 200},
        ],
        "coupons": [
            {
                "code": COUPON,
                "discount_perc": 10,
                "quantity": None,
                "valid_from": "2020-01-01",
                "valid_to": "2099-12-31",
            }
        ],
    }


# ---------------------------------------------------------------------------------------------
# Order bodies: JSON with ${name} placeholders, filled per request by bench/lua/create.lua and
# by fill() below (for the template orders).

_INT = re.compile(r'"\$\{(item1|item2)\}"')


def _template(body: dict[str, Any]) -> str:
    """JSON text in which ``"${item1}"`` becomes a bare placeholder for an integer."""
    return _INT.sub(r"${\1}", json.dumps(body, ensure_ascii=False))


def partner_body(store: str) -> str:
    return _template(
        {
            "customer": {
                "phone_number": "+371${phone8}",
                "first_name": "${first}",
                "last_name": "${last}",
            },
            "address": {
                "address": "Brīvības iela 1, Rīga",
                "coordinates": {"lat": 56.95, "lon": 24.11},
                "details": "3rd floor, door code 1234",
                "zip": "LV-1010",
            },
            "partner_details": {
                "store_id": store,
                "items": [
                    {"id": "${item1}", "count": 1, "delivery": True, "assembly": True},
                    {"id": "${item2}", "count": 1, "delivery": True},
                ],
                "instock": True,
                "delivery_type": "to_door_by_lift",
            },
            "datetime": [
                {"date": "${d1}", "timeslot": "${s1}"},
                {"date": "${d2}", "timeslot": "${s2}"},
                {"date": "${d3}", "timeslot": "${s3}"},
            ],
            "payment_method": "cash",
            "image_uuids": [],
        }
    )


def restaurant_body(location: Location) -> str:
    """A customer's home delivery with options and the coupon, to a place in the zone."""
    return _template(
        {
            "client": {
                "first_name": "${first}",
                "last_name": "${last}",
                "email": "guest${n}@example.com",
                "phone": "+39 02 ${phone7}",
            },
            "dmethod": "1",
            "payment_method": "cash",
            "payment_method_sub": "pos",
            "subrestaurant_uid": location.uid,
            "language": "it",
            "delivery": {
                "date": "${d1} ${s1}:00",
                "address": {"place_id": location.place_id, "doorbell": "${last}", "floor": "2"},
            },
            "details": [
                {
                    "product": {"uid": "margherita"},
                    "quantity": 2,
                    "notes": "ben cotta",
                    "options": [
                        {"uid": "margherita-formato", "values": [{"uid": "maxi"}]},
                        {
                            "uid": "margherita-extra",
                            "values": [{"uid": "bufala", "quantity": 1}, {"uid": "funghi"}],
                        },
                    ],
                },
                {"product": {"uid": "acqua"}, "quantity": 2},
            ],
            "coupon": {"code": COUPON},
            "notes": "",
            "creator": "customer",
        }
    )


def partner_slots(today: date) -> list[tuple[str, str]]:
    """Dates 2..29 days ahead x the three timeslots: inside every store's 31-day window
    whatever its time zone, and never a slot that has already started."""
    return [
        ((today + timedelta(days=d)).isoformat(), slot)
        for d in range(2, 30)
        for slot in ("0712", "1217", "1721")
    ]


def restaurant_slots(now: datetime) -> list[tuple[str, str]]:
    """Slot starts 08:00-21:45, one to six days ahead in the restaurant's zone (inside the
    7-day horizon, far from the lead time and from any daylight-saving gap)."""
    today = now.astimezone(ZoneInfo(RESTAURANT_TZ)).date()
    return [
        ((today + timedelta(days=d)).isoformat(), f"{h:02d}:{m:02d}")
        for d in range(1, 7)
        for h in range(8, 22)
        for m in (0, 15, 30, 45)
    ]


def fill(template: str, n: int, slot: tuple[str, str], items: tuple[int, int] = (1, 2)) -> str:
    """What bench/lua/create.lua sends for counter ``n`` (for the in-process creates)."""
    values = {
        "n": str(n),
        "phone8": str(20000000 + n % 10000000),
        "phone7": str(1000000 + n % 9000000),
        "first": FIRST_NAMES[n % len(FIRST_NAMES)],
        "last": LAST_NAMES[(n // 7) % len(LAST_NAMES)],
        "d1": slot[0],
        "s1": slot[1],
        "d2": slot[0],
        "s2": slot[1],
        "d3": slot[0],
        "s3": slot[1],
        "item1": str(items[0]),
        "item2": str(items[1]),
    }
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)
