"""The built-in demo setup (``orderdesk serve --demo``, ``orderdesk demo-setup``).

Two partners with four stores in three time zones, a marketplace catalog of about 300 items built
from product lines, sizes and finishes (some with accented names, some without assembly), a
restaurant (Pizzeria Bella, two locations in Milano with a real menu, delivery zones, coupons and
credentials) and Milano addresses around both locations for the gazetteer. The document is
deterministic for a given day: its ``masters_on`` overrides fall on the next occurrence of public
holidays, so they are always in the future and re-applying the demo on the same day changes
nothing. The restaurant part does not depend on the day at all (its coupons carry no dates).

The demo webhooks point at ``orderdesk webhooks listen`` on its default port
(``http://127.0.0.1:8787``), so a second terminal shows every order event as it happens; without
a listener, deliveries simply fail and are retried.

``serve --demo`` prints how to call every endpoint only once its own port answers, and every
printed line must work when pasted again against the same database: the lines carry ids the run
itself creates (in shell variables), dates read from the running server, and the path of the
receipt image shipped next to this module, and they avoid GNU-only tools so they run on macOS.
"""

from __future__ import annotations

import errno
import json
import shlex
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from orderdesk.core.catalog.search import fold

# Logins and passwords of the demo partners (login, password), printed by ``serve --demo``.
DEMO_LOGINS: list[tuple[str, str]] = [
    ("api@nordhaus.example", "nordhaus-demo-password"),
    ("shop@nordhaus.example", "nordhaus-shop-password"),
    ("api@kitchenworks.example", "kitchenworks-demo-password"),
]
DEMO_CURRENCY = "EUR"
# Credentials of the demo restaurant "bella", printed by ``serve --demo``.
DEMO_RESTAURANT_UID = "bella"
DEMO_RESTAURANT_API_KEY = "bella-demo-api-key-0001"
DEMO_RESTAURANT_CLIENT_ID = "bella-web"
DEMO_RESTAURANT_CLIENT_SECRET = "bella-demo-client-secret"  # noqa: S105 (public demo)
# ``orderdesk webhooks listen``'s default port: the demo's subscriptions point there.
WEBHOOK_LISTEN_PORT = 8787
WEBHOOK_LISTEN_URL = f"http://127.0.0.1:{WEBHOOK_LISTEN_PORT}"
# One signing secret for both demo subscriptions, so one listener can verify every event.
DEMO_WEBHOOK_SECRET = "whsec-orderdesk-demo"  # noqa: S105 (public demo)
# Console operators of the demo (email, role, organization, name), created by ``serve --demo``
# when missing, all with one printed password: an admin who sees everything, and the staff of
# the demo restaurant who sees only its orders.
DEMO_OPERATORS: list[tuple[str, str, str | None, str]] = [
    ("admin@orderdesk.example", "admin", None, "Demo admin"),
    ("kitchen@bella.example", "staff", DEMO_RESTAURANT_UID, "Bella kitchen"),
]
DEMO_OPERATOR_PASSWORD = "orderdesk-demo-console"  # noqa: S105 (public demo)
# A small real receipt photo, shipped as package data, so the printed upload line works as is.
DEMO_RECEIPT = Path(__file__).with_name("demo_receipt.jpg")


@dataclass(frozen=True)
class _Line:
    """One category of the demo catalog: every line comes in every size and finish."""

    category: str
    first_id: int
    lines: tuple[str, ...]
    sizes: tuple[str, ...]
    finishes: tuple[str, ...]
    delivery_price: int
    assembly_price: int | None  # for the smallest size; None: no assembly offered
    assembly_step: int = 0  # added per size step
    no_assembly_sizes: tuple[str, ...] = ()


_CATALOG: tuple[_Line, ...] = (
    _Line(
        "wardrobes",
        1001,
        ("Fjord wardrobe", "Aurora sliding-door wardrobe", "Garde-robe Élise"),
        ("100x201", "150x201", "150x236", "200x236"),
        ("white", "oak effect", "black-brown"),
        delivery_price=3500,
        assembly_price=6900,
        assembly_step=1500,
    ),
    _Line(
        "beds",
        2001,
        ("Solvik bed frame", "Lune upholstered bed", "Bett Schöneberg"),
        ("90x200", "140x200", "160x200", "180x200"),
        ("white", "light grey", "walnut"),
        delivery_price=2900,
        assembly_price=4900,
        assembly_step=500,
    ),
    _Line(
        "sofas",
        3001,
        ("Havn sofa", "Milo sofa", "Canapé Céleste"),
        ("2-seat", "3-seat", "corner"),
        ("beige", "dark grey", "velvet green", "navy"),
        delivery_price=3900,
        assembly_price=2900,
        no_assembly_sizes=("2-seat", "3-seat"),
    ),
    _Line(
        "kitchens",
        4001,
        ("Kvik base cabinet", "Kvik wall cabinet", "Cucina Bellagio unit"),
        ("40 cm", "60 cm", "80 cm"),
        ("matt white", "sage green", "oak"),
        delivery_price=1900,
        assembly_price=3900,
        assembly_step=1000,
    ),
    _Line(
        "shelving",
        5001,
        ("Étagère Lumière", "Kallo shelf unit", "Bücherregal Jönsson"),
        ("80x100", "80x180", "160x180"),
        ("white", "black", "birch"),
        delivery_price=1500,
        assembly_price=2900,
        assembly_step=1000,
    ),
    _Line(
        "tables",
        6001,
        ("Ekby dining table", "Tavolo Mélange", "Couchtisch Über"),
        ("120x80", "160x90", "200x100"),
        ("oak", "white", "smoked ash"),
        delivery_price=2500,
        assembly_price=2500,
        assembly_step=500,
    ),
    _Line(
        "chairs",
        7001,
        ("Lisa chair", "Stuhl Jörg", "Chaise Amélie", "Ravn bar stool"),
        ("",),
        ("black", "white", "natural", "olive"),
        delivery_price=900,
        assembly_price=None,
    ),
    _Line(
        "desks",
        8001,
        ("Linnmon desk", "Schreibtisch Höhenverstellbar"),
        ("120x60", "140x70", "160x80"),
        ("white", "black", "oak"),
        delivery_price=1900,
        assembly_price=3900,
        assembly_step=500,
    ),
    _Line(
        "dressers",
        9001,
        ("Kommode Größe", "Hemnes chest of drawers"),
        ("S", "M", "L"),
        ("white", "oak", "grey"),
        delivery_price=2200,
        assembly_price=3500,
        assembly_step=1000,
    ),
    _Line(
        "appliances",
        10001,
        (
            "Frostig fridge-freezer",
            "Sauber dishwasher",
            "Brio built-in oven",
            "Glöd induction hob",
            "Rena washing machine",
            "Bjärt microwave",
        ),
        ("standard", "plus"),
        ("stainless steel", "white", "black"),
        delivery_price=3500,
        assembly_price=4900,
        assembly_step=1000,
    ),
    _Line(
        "mattresses",
        11001,
        ("Höylä foam mattress", "Matelas Sérénité pocket spring"),
        ("90x200", "140x200", "160x200", "180x200"),
        ("medium", "firm"),
        delivery_price=1900,
        assembly_price=None,
    ),
)


def _items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for spec in _CATALOG:
        combinations = product(spec.lines, enumerate(spec.sizes), spec.finishes)
        for offset, (line, (step, size), finish) in enumerate(combinations):
            name = f"{line} {size}".strip()
            # The microwave stands on a shelf: nothing to install.
            offers_assembly = (
                spec.assembly_price is not None
                and size not in spec.no_assembly_sizes
                and "microwave" not in line
            )
            item: dict[str, object] = {
                "id": spec.first_id + offset,
                "title": f"{name}, {finish}",
                "category": spec.category,
                "delivery": True,
                "assembly": offers_assembly,
                "delivery_price": spec.delivery_price + (500 if step >= 2 else 0),
                "currency": DEMO_CURRENCY,
            }
            if offers_assembly and spec.assembly_price is not None:
                item["assembly_price"] = spec.assembly_price + step * spec.assembly_step
            items.append(item)
    return items


def _next(month: int, day: int, today: date) -> date:
    """The next occurrence of a yearly date, today included."""
    this_year = date(today.year, month, day)
    return this_year if this_year >= today else date(today.year + 1, month, day)


def _store(
    store_id: str,
    title: str,
    timezone: str,
    masters: dict[str, int],
    closures: list[tuple[date, str, int]],
) -> dict[str, object]:
    return {
        "id": store_id,
        "title": title,
        "timezone": timezone,
        "masters": masters,
        "masters_on": [
            {"date": day.isoformat(), "timeslot": slot, "masters": count}
            for day, slot, count in closures
        ],
    }


def _partners(today: date) -> list[dict[str, object]]:
    christmas_eve, new_year = _next(12, 24, today), _next(1, 1, today)
    independence_day = _next(7, 4, today)
    holidays_eu = [
        (christmas_eve, "1217", 1),
        (christmas_eve, "1721", 0),
        (new_year, "0712", 0),
        (new_year, "1217", 0),
        (new_year, "1721", 0),
    ]
    logins = dict(DEMO_LOGINS)
    return [
        {
            "name": "nordhaus",
            "title": "Nordhaus Möbel",
            "users": [
                {"login": login, "password": logins[login]}
                for login in ("api@nordhaus.example", "shop@nordhaus.example")
            ],
            "webhooks": [
                {"url": f"{WEBHOOK_LISTEN_URL}/hooks/nordhaus", "secret": DEMO_WEBHOOK_SECRET}
            ],
            "stores": [
                _store(
                    "nordhaus-riga",
                    "Nordhaus Rīga",
                    "Europe/Riga",
                    {"0712": 3, "1217": 3, "1721": 2},
                    holidays_eu,
                ),
                _store(
                    "nordhaus-berlin",
                    "Nordhaus Berlin-Mitte",
                    "Europe/Berlin",
                    {"0712": 2, "1217": 2, "1721": 1},
                    holidays_eu,
                ),
            ],
        },
        {
            "name": "kitchenworks",
            "title": "KitchenWorks",
            "users": [
                {
                    "login": "api@kitchenworks.example",
                    "password": logins["api@kitchenworks.example"],
                }
            ],
            "stores": [
                _store(
                    "kitchenworks-brooklyn",
                    "KitchenWorks Brooklyn",
                    "America/New_York",
                    {"0712": 2, "1217": 3, "1721": 1},
                    [(independence_day, slot, 0) for slot in ("0712", "1217", "1721")],
                ),
                _store(
                    "kitchenworks-munich",
                    "KitchenWorks München",
                    "Europe/Berlin",
                    {"0712": 1, "1217": 2, "1721": 0},
                    holidays_eu[:2],
                ),
            ],
        },
    ]


# (street, number, zip, lat, lng) in Milano: the centre, around the Navigli and further out.
_MILANO = (
    ("Via Roma", "1", "20121", 45.4642, 9.1900),
    ("Piazza del Duomo", "1", "20122", 45.4641, 9.1919),
    ("Via Cesare Cantù", "2", "20123", 45.4636, 9.1857),
    ("Via Montenapoleone", "8", "20121", 45.4686, 9.1952),
    ("Corso Buenos Aires", "33", "20124", 45.4785, 9.2106),
    ("Corso Como", "10", "20154", 45.4819, 9.1871),
    ("Via Torino", "40", "20123", 45.4605, 9.1840),
    ("Corso di Porta Ticinese", "70", "20123", 45.4555, 9.1810),
    ("Piazza Gae Aulenti", "1", "20124", 45.4840, 9.1895),
    ("Viale Monza", "140", "20127", 45.5050, 9.2240),
    ("Via Dante", "12", "20121", 45.4668, 9.1858),
    ("Via Orefici", "2", "20123", 45.4649, 9.1887),
    ("Corso Vittorio Emanuele II", "15", "20122", 45.4659, 9.1947),
    ("Via Manzoni", "10", "20121", 45.4697, 9.1922),
    ("Via Brera", "10", "20121", 45.4718, 9.1877),
    ("Corso Magenta", "27", "20123", 45.4655, 9.1777),
    ("Via Torino", "12", "20123", 45.4625, 9.1870),
    ("Alzaia Naviglio Grande", "20", "20144", 45.4513, 9.1760),
    ("Ripa di Porta Ticinese", "35", "20143", 45.4507, 9.1745),
    ("Via Vigevano", "18", "20144", 45.4543, 9.1735),
    ("Viale Gorizia", "24", "20144", 45.4531, 9.1748),
    ("Corso San Gottardo", "14", "20136", 45.4506, 9.1820),
    ("Piazza XXIV Maggio", "1", "20123", 45.4528, 9.1798),
    ("Via Ascanio Sforza", "11", "20136", 45.4495, 9.1771),
    ("Corso Buenos Aires", "75", "20124", 45.4820, 9.2140),
)


def _places() -> list[dict[str, object]]:
    return [
        {
            "place_id": "-".join(fold(f"{street} {number} Milano").split()),
            "street": street,
            "number": number,
            "city": "Milano",
            "province": "MI",
            "zip": zip_code,
            "country": "IT",
            "lat": lat,
            "lng": lng,
        }
        for street, number, zip_code, lat, lng in _MILANO
    ]


# --- the demo restaurant --------------------------------------------------------------------

_LUNCH_AND_DINNER = [["11:30", "14:30"], ["18:30", "23:00"]]
_WEEKEND = [["11:30", "15:00"], ["18:30", "23:30"]]
_HOURS = {day: _LUNCH_AND_DINNER for day in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": _WEEKEND,
    "sun": _WEEKEND,
}
_CENTRO, _NAVIGLI = "bella-centro", "bella-navigli"
# A gluten-free base costs this much more than the pizza's own price ("=" replaces the price).
_GLUTEN_FREE_SURCHARGE = 250
_EXTRAS = (
    ("bufala", "Mozzarella di bufala", 200),
    ("salame", "Salame piccante", 150),
    ("funghi", "Funghi", 100),
    ("olive", "Olive taggiasche", 80),
    ("rucola", "Rucola", 100),
    ("crudo", "Prosciutto crudo", 250),
)


@dataclass(frozen=True)
class _Dish:
    uid: str
    name: str
    ingredients: str
    price: int
    locations: tuple[str, ...] = ()  # empty: both locations
    available: bool = True
    mozzarella: bool = True


_PIZZE = (
    _Dish("margherita", "Margherita", "Pomodoro, mozzarella fior di latte, basilico", 750),
    _Dish(
        "marinara", "Marinara", "Pomodoro, aglio, origano, olio extravergine", 650, mozzarella=False
    ),
    _Dish("diavola", "Diavola", "Pomodoro, mozzarella, salame piccante", 900),
    _Dish("quattro-formaggi", "Quattro formaggi", "Mozzarella, gorgonzola, fontina, grana", 950),
    _Dish(
        "capricciosa",
        "Capricciosa",
        "Pomodoro, mozzarella, prosciutto cotto, funghi, carciofi, olive",
        1000,
    ),
    _Dish("prosciutto-funghi", "Prosciutto e funghi", "Pomodoro, mozzarella, cotto, funghi", 950),
    _Dish("bufalina", "Bufalina", "Pomodoro, mozzarella di bufala, basilico", 1100),
    _Dish("ortolana", "Ortolana", "Mozzarella, zucchine, melanzane, peperoni grigliati", 950),
    _Dish(
        "calzone",
        "Calzone",
        "Ripieno di ricotta, mozzarella, prosciutto cotto",
        950,
        available=False,
    ),
)
_PRIMI = (
    _Dish("carbonara", "Spaghetti alla carbonara", "Guanciale, uovo, pecorino, pepe", 1200),
    _Dish(
        "risotto-milanese",
        "Risotto alla milanese",
        "Zafferano, midollo, grana padano",
        1400,
        locations=(_CENTRO,),
    ),
    _Dish("arrabbiata", "Penne all'arrabbiata", "Pomodoro, aglio, peperoncino", 1000),
    _Dish("lasagne", "Lasagne alla bolognese", "Ragù, besciamella, grana padano", 1300),
    _Dish(
        "gnocchi-pesto", "Gnocchi al pesto", "Pesto genovese, pinoli", 1150, locations=(_NAVIGLI,)
    ),
)
_BEVANDE = (
    _Dish("acqua-naturale", "Acqua naturale 0,5 l", "", 200),
    _Dish("acqua-frizzante", "Acqua frizzante 0,5 l", "", 200),
    _Dish("coca-cola", "Coca-Cola 33 cl", "", 350),
    _Dish("birra-moretti", "Birra Moretti 33 cl", "", 450),
    _Dish("vino-rosso", "Vino rosso della casa ¼ l", "Barbera", 600),
)
_DOLCI = (
    _Dish("tiramisu", "Tiramisù", "Mascarpone, savoiardi, caffè, cacao", 550),
    _Dish("panna-cotta", "Panna cotta", "Con coulis di frutti di bosco", 500),
    _Dish("cannolo", "Cannolo siciliano", "Ricotta di pecora, canditi", 450, locations=(_NAVIGLI,)),
)
_MENU = (
    ("pizze", "Pizze", _PIZZE),
    ("primi", "Primi", _PRIMI),
    ("bevande", "Bevande", _BEVANDE),
    ("dolci", "Dolci", _DOLCI),
)


def _value(uid: str, name: str, operator: str, operand: int, **extra: object) -> dict[str, object]:
    return {"uid": uid, "name": name, "price_operator": operator, "price_operand": operand, **extra}


def _pizza_options(dish: _Dish) -> list[dict[str, object]]:
    """Size, base, extras and removals; option uids carry the product's (unique per
    restaurant)."""
    options: list[dict[str, object]] = [
        {
            "uid": f"{dish.uid}-formato",
            "name": "Formato",
            "type": "single",
            "min_selectable": 1,
            "max_selectable": 1,
            "option_values": [
                _value("normale", "Normale", "+", 0, checked_default=True),
                _value("maxi", "Maxi", "+", 300),
            ],
        },
        {
            "uid": f"{dish.uid}-impasto",
            "name": "Impasto",
            "type": "single",
            "min_selectable": 0,
            "max_selectable": 1,
            "option_values": [
                _value("senza-glutine", "Senza glutine", "=", dish.price + _GLUTEN_FREE_SURCHARGE)
            ],
        },
        {
            "uid": f"{dish.uid}-extra",
            "name": "Ingredienti extra",
            "short_name": "Extra",
            "type": "multiple",
            "min_selectable": 0,
            "max_selectable": 3,
            "max_quantity": 2,
            "option_values": [_value(uid, name, "+", price) for uid, name, price in _EXTRAS],
        },
    ]
    if dish.mozzarella:
        options.append(
            {
                "uid": f"{dish.uid}-modifiche",
                "name": "Modifiche",
                "type": "multiple",
                "min_selectable": 0,
                "max_selectable": 1,
                "option_values": [_value("senza-mozzarella", "Senza mozzarella", "-", 50)],
            }
        )
    return options


def _pasta_options(dish: _Dish) -> list[dict[str, object]]:
    return [
        {
            "uid": f"{dish.uid}-aggiunte",
            "name": "Aggiunte",
            "type": "multiple",
            "min_selectable": 0,
            "max_selectable": 2,
            "option_values": [
                _value("parmigiano", "Parmigiano extra", "+", 100),
                _value("peperoncino", "Peperoncino", "+", 0),
            ],
        }
    ]


def _products() -> list[dict[str, object]]:
    products: list[dict[str, object]] = []
    for category, _, dishes in _MENU:
        for dish in dishes:
            options = (
                _pizza_options(dish)
                if category == "pizze"
                else _pasta_options(dish)
                if category == "primi"
                else []
            )
            products.append(
                {
                    "uid": dish.uid,
                    "category_uid": category,
                    "name": dish.name,
                    "ingredients": dish.ingredients,
                    "price": dish.price,
                    "available": dish.available,
                    "subrestaurant_uids": list(dish.locations),
                    "ext_id": f"POS-{len(products) + 1:03d}",
                    "options": options,
                }
            )
    return products


def _subrestaurant(
    uid: str, name: str, code: str, address: str, zip_code: str, lat: float, lng: float, phone: str
) -> dict[str, object]:
    return {
        "uid": uid,
        "name": name,
        "code": code,
        "address": address,
        "city": "Milano",
        "province": "MI",
        "zip": zip_code,
        "country": "IT",
        "lat": lat,
        "lng": lng,
        "phone": phone,
        "email": f"{code.lower()}@pizzeriabella.example",
        "opening_hours": _HOURS,
        "lead_minutes": 20,
        "slot_minutes": 15,
        "orders_per_slot": 4,
    }


def demo_restaurant() -> dict[str, object]:
    """Pizzeria Bella: two locations in Milano, a menu of about 20 dishes, zones and coupons."""
    return {
        "uid": DEMO_RESTAURANT_UID,
        "name": "Pizzeria Bella",
        "timezone": "Europe/Rome",
        "language": "it",
        "currency": DEMO_CURRENCY,
        "auto_confirm": False,
        "countdown_seconds": 300,
        "api_keys": [DEMO_RESTAURANT_API_KEY],
        "clients": [
            {
                "client_id": DEMO_RESTAURANT_CLIENT_ID,
                "client_secret": DEMO_RESTAURANT_CLIENT_SECRET,
                "scopes": [
                    "write:orders",
                    "read:orders",
                    "read:menu",
                    "write:menu",
                    "write:coupons",
                ],
            }
        ],
        "webhooks": [{"url": f"{WEBHOOK_LISTEN_URL}/hooks/bella", "secret": DEMO_WEBHOOK_SECRET}],
        "subrestaurants": [
            _subrestaurant(
                _CENTRO,
                "Bella Centro",
                "CEN",
                "Via Orefici 2",
                "20123",
                45.4642,
                9.1900,
                "+39 02 8646 1234",
            ),
            _subrestaurant(
                _NAVIGLI,
                "Bella Navigli",
                "NAV",
                "Alzaia Naviglio Grande 20",
                "20144",
                45.4520,
                9.1760,
                "+39 02 5811 4321",
            ),
        ],
        "dmethods": ["0", "1"],
        "cash_subs": ["contanti", "pos"],
        "zones": [
            # Roughly the ring of the Cerchia dei Navigli around the Duomo.
            {
                "name": "Centro storico",
                "subrestaurant_uid": _CENTRO,
                "fee": 200,
                "order_min": 1500,
                "polygon": [
                    [45.4735, 9.1850],
                    [45.4710, 9.1985],
                    [45.4650, 9.2030],
                    [45.4585, 9.1990],
                    [45.4570, 9.1880],
                    [45.4620, 9.1795],
                    [45.4690, 9.1790],
                ],
            },
            {
                "name": "Navigli 2 km",
                "subrestaurant_uid": _NAVIGLI,
                "fee": 250,
                "order_min": 1500,
                "radius_km": 2,
            },
            {
                "name": "Centro 4 km",
                "subrestaurant_uid": _CENTRO,
                "fee": 400,
                "order_min": 2000,
                "radius_km": 4,
            },
        ],
        "categories": [
            {"uid": uid, "name": name, "position": position}
            for position, (uid, name, _) in enumerate(_MENU)
        ],
        "products": _products(),
        "coupons": [
            {"code": "WELCOME10", "discount_perc": 10, "order_min": 1500},
            {
                "code": "ESTATE",
                "discount_perc": 15,
                "order_min": 2000,
                "valid_weekdays": ["mon", "tue", "wed", "thu"],
            },
            {"code": "SCONTO5", "discount_amount": 500, "order_min": 2500},
            {"code": "AMICI3", "discount_perc": 20, "quantity": 3},
        ],
        "coupon_generators": [
            {"gencode": "BDAY", "discount_perc": 15, "order_min": 1000, "valid_days": 30}
        ],
    }


def demo_document(today: date | None = None) -> dict[str, object]:
    """A valid setup document for demos and manual testing (``parse_setup`` accepts it)."""
    return {
        "version": 1,
        "partners": _partners(today or date.today()),
        "items": _items(),
        "restaurants": [demo_restaurant()],
        "places": _places(),
    }


# --- what ``serve --demo`` prints -------------------------------------------------------------


def listen_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port``, or None when it can.

    Checked before anything is printed: without it a second demo would print its instructions
    (pointing at the first one's port) and only then fail to bind. ``SO_REUSEADDR`` as uvicorn
    sets it, so connections of a demo that has just stopped do not count as taking the port.
    """
    if not 1 <= port <= 65535:  # getaddrinfo would quietly wrap 70000 around to 4464
        return f"cannot listen on port {port}: a port is 1 to 65535"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except socket.gaierror as exc:
        return f"cannot listen on {host}:{port}: unknown host ({exc.strerror})"
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return (
                f"port {port} on {host} is already in use (is another demo running?): "
                f"stop it or choose another port, e.g. make demo PORT={port + 1}"
            )
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def local_base(host: str, port: int) -> str:
    """The URL this machine reaches the server at: a wildcard host is not an address to call."""
    if host in ("", "0.0.0.0"):  # noqa: S104 (a name, not a bind)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def announce_when_ready(
    base: str,
    local: str,
    document: dict[str, Any],
) -> threading.Thread:
    """Print the instructions from a background thread once ``local`` answers ``/health``.

    "running" then means what it says: the port is bound and requests are answered. When the
    server stops before that (it could not bind after all), the process ends and the daemon
    thread with it, and nothing is printed.
    """

    def run() -> None:
        while not _answers(f"{local}/health"):
            time.sleep(0.1)
        create_on, move_to = _booking_days(local, document)
        text = demo_instructions(base, document, create_on=create_on, move_to=move_to)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    thread = threading.Thread(target=run, name="demo-announce", daemon=True)
    thread.start()
    return thread


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
        return json.load(response)


def _answers(url: str) -> bool:
    try:
        _get_json(url)
    except (OSError, ValueError):
        return False
    return True


def _booking_days(local: str, document: dict[str, Any]) -> tuple[date, date]:
    """Two days the printed partner order can book (12-17) and then move to (07-12).

    Read from the running server's free slots rather than assumed, so earlier runs' bookings
    and holidays with no masters are stepped over; from tomorrow on, so the slot has not begun
    by the time the line is pasted. Without an answer: tomorrow and the day after.
    """
    store = document["partners"][0]["stores"][0]
    tomorrow = datetime.now(ZoneInfo(store["timezone"])).date() + timedelta(days=1)
    fallback = (tomorrow, tomorrow + timedelta(days=1))
    try:
        slots: dict[str, dict[str, bool]] = _get_json(
            f"{local}/partner/slots/free?store_id={store['id']}"
        )["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return fallback
    days = sorted(date.fromisoformat(day) for day in slots if day >= tomorrow.isoformat())
    create_on = next((d for d in days if slots[d.isoformat()].get("1217")), None)
    if create_on is None:
        return fallback
    move_to = next(
        (d for d in days if d > create_on and slots[d.isoformat()].get("0712")), create_on
    )
    return create_on, move_to


def _q(value: object) -> str:
    """JSON for a double-quoted shell string (so ``$VARS`` inside still expand)."""
    return json.dumps(value).replace("\\", "\\\\").replace('"', '\\"')


_PY = "python3 -c 'import json,sys; print(json.load(sys.stdin)"


def demo_instructions(
    base: str, document: dict[str, Any], *, create_on: date, move_to: date
) -> str:
    """Credentials and a ready-to-paste curl line for every endpoint of both APIs.

    Only POSIX shell, curl and python3 (no GNU ``date -d``): the lines are pasted on macOS too,
    often into zsh, whose ``echo`` would turn a ``\\n`` inside an answer into a line break.
    """
    return "\n".join(
        [
            "",
            f"orderdesk demo is running at {base}  (API docs: {base}/docs)",
            "",
            f"Operator console: {base}/console  signed in as one of",
            *(
                f"  {email}  password {DEMO_OPERATOR_PASSWORD}  ({role}"
                + (f" of {org})" if org else ", every organization)")
                for email, role, org, _ in DEMO_OPERATORS
            ),
            "",
            f"Webhooks of every order event go to {WEBHOOK_LISTEN_URL}/hooks/...; to watch them,",
            "in another terminal: orderdesk webhooks listen "
            f"--port {WEBHOOK_LISTEN_PORT} --secret {DEMO_WEBHOOK_SECRET}",
            "",
            *_partner_lines(base, document, create_on, move_to),
            "",
            *_restaurant_lines(base, document),
            "",
        ]
    )


def _partner_lines(
    base: str, document: dict[str, Any], create_on: date, move_to: date
) -> list[str]:
    partner = document["partners"][0]
    user = partner["users"][0]
    store = partner["stores"][0]["id"]
    item = document["items"][0]
    login = json.dumps({"login": user["login"], "password": user["password"]})
    order = _q(
        {
            "customer": {
                "phone_number": "+37120000000",
                "first_name": "Anna",
                "last_name": "Ozola",
            },
            "address": {
                "address": "Brivibas iela 1, Riga",
                "coordinates": {"lat": 56.95, "lon": 24.11},
                "details": "3rd floor",
                "zip": "LV-1010",
            },
            "partner_details": {
                "store_id": store,
                "items": [{"id": item["id"], "count": 1, "delivery": True}],
                "instock": True,
                "delivery_type": "to_door_by_lift",
            },
            "datetime": [{"date": create_on.isoformat(), "timeslot": "1217"}],
            "payment_method": "cash",
            "image_uuids": [],
        }
    )
    new_dates = _q({"datetime": [{"date": move_to.isoformat(), "timeslot": "0712"}]})
    p = f"{base}/partner"
    auth = '-H "token: $TOKEN"'
    receipt = shlex.quote(f"file=@{DEMO_RECEIPT}")
    return [
        "Partner API (/partner). Demo logins:",
        *[
            f"  {p_['name']}: {u['login']} / {u['password']}"
            for p_ in document["partners"]
            for u in p_["users"]
        ],
        "Log in and keep the token:",
        f"  TOKEN=$(curl -s {p}/auth/authorize -H 'Content-Type: application/json' "
        f'-d \'{login}\' | {_PY}["data"]["token"])\')',
        "Free master slots (no token needed):",
        f"  curl -s '{p}/slots/free?store_id={store}'",
        "Items, search and stores:",
        f"  curl -s '{p}/item/list?limit=5' {auth}",
        f"  curl -s '{p}/item/find?name=wardr' {auth}",
        f"  curl -s {p}/store/list {auth}",
        "Upload a receipt image (shipped with orderdesk):",
        f"  curl -s {p}/image/upload {auth} -F {receipt}",
        f"Create an order (kept in $PORDER, its id in $PORDER_ID; books a master on "
        f"{create_on.isoformat()} 12-17):",
        f"  PORDER=$(curl -s {p}/order/create {auth} -H 'Content-Type: application/json' "
        f"-H \"Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')\" "
        f'-d "{order}")',
        "  printf '%s\\n' \"$PORDER\"",
        f'  PORDER_ID=$(printf %s "$PORDER" | {_PY}["data"]["_id"])\')',
        f"List, read, mark in stock, move to {move_to.isoformat()} 07-12, cancel:",
        f"  curl -s -g '{p}/order/list?filter[query]=Ozola' {auth}",
        f'  curl -s "{p}/order/$PORDER_ID" {auth}',
        f'  curl -s -X POST "{p}/order/$PORDER_ID/instock" {auth}',
        f'  curl -s "{p}/order/$PORDER_ID/datetime" {auth} '
        f"-H 'Content-Type: application/json' -d \"{new_dates}\"",
        f'  curl -s -X POST "{p}/order/$PORDER_ID/cancel" {auth}',
    ]


def _restaurant_lines(base: str, document: dict[str, Any]) -> list[str]:
    restaurant = document["restaurants"][0]
    location = restaurant["subrestaurants"][0]["uid"]
    product = restaurant["products"][0]
    size = product["options"][0]
    cash = restaurant["cash_subs"][0]
    coupon = restaurant["coupons"][0]["code"]
    gencode = restaurant["coupon_generators"][0]["gencode"]
    a = f"{base}/api"
    key = f"-H 'X-Api-Key: {DEMO_RESTAURANT_API_KEY}'"
    client = (
        f"-H 'X-Client-Id: {DEMO_RESTAURANT_CLIENT_ID}' "
        f"-H 'X-Client-Secret: {DEMO_RESTAURANT_CLIENT_SECRET}'"
    )
    json_body = "-H 'Content-Type: application/json'"
    order = _q(
        {
            "client": {
                "first_name": "Giulia",
                "last_name": "Rossi",
                "email": "giulia@example.com",
                "phone": "+39 02 1234567",
            },
            "dmethod": "0",
            "payment_method": "cash",
            "payment_method_sub": cash,
            "subrestaurant_uid": location,
            "pickup": {"date": "$WHEN"},
            "details": [
                {
                    "product": {"uid": product["uid"]},
                    "quantity": 2,
                    "options": [
                        {"uid": size["uid"], "values": [{"uid": size["option_values"][0]["uid"]}]}
                    ],
                }
            ],
            "coupon": {"code": coupon},
        }
    )
    place = document["places"][0]
    address = f"{place['street']} {place['number']}, {place['city']}"
    return [
        f"Restaurant API (/api), {restaurant['name']}: API key {DEMO_RESTAURANT_API_KEY}, "
        f"client {DEMO_RESTAURANT_CLIENT_ID} / {DEMO_RESTAURANT_CLIENT_SECRET}",
        "OAuth 2.0 client credentials:",
        f"  curl -s {a}/oauth/token -d grant_type=client_credentials "
        f"-d client_id={DEMO_RESTAURANT_CLIENT_ID} "
        f"-d client_secret={DEMO_RESTAURANT_CLIENT_SECRET}",
        "Menu and locations:",
        f"  curl -s '{a}/menu/categories?page=1' {key}",
        f"  curl -s '{a}/menu/products?page=1&q=marg' {key}",
        f"  curl -s '{a}/menu/product?uid={product['uid']}' {key}",
        f"  curl -s '{a}/menu/category?uid={product['category_uid']}' {key}",
        f"  curl -s {a}/account/subrestaurants {key}",
        "Address check, free pickup times, and the first one kept in $WHEN:",
        f"  curl -s {a}/order/validate_address {client} {json_body} "
        f"-d '{json.dumps({'address': address}, ensure_ascii=False)}'",
        f"  curl -s {a}/order/pickup_delivery_times {client} {json_body} "
        f"-d '{json.dumps({'dmethod': '0', 'subrestaurant_uid': location, 'language': 'en'})}'",
        f"  WHEN=$(curl -s {a}/order/pickup_delivery_times {client} {json_body} "
        f"-d '{json.dumps({'dmethod': '0', 'subrestaurant_uid': location})}' | "
        f'{_PY}["data"]["pickup_times"][0]["date"])\')',
        "Coupons:",
        f"  curl -s -X POST '{a}/coupon/apply?code={coupon}&total=25' {client}",
        f"  curl -s -X POST '{a}/coupon/generate?gencode={gencode}"
        f"&valid_email=giulia@example.com' {client}",
        "Create an order (kept in $ORDER), then confirm, read, list and close it:",
        f'  ORDER=$(curl -s {a}/order/create {client} {json_body} -d "{order}")',
        "  printf '%s\\n' \"$ORDER\"",
        f'  OUID=$(printf %s "$ORDER" | {_PY}["order"]["uid"])\'); '
        f'OTOKEN=$(printf %s "$ORDER" | {_PY}["order"]["token"])\')',
        f'  curl -s -X POST "{a}/order/confirm?uid=$OUID&token=$OTOKEN" {key}',
        f'  curl -s "{a}/orders/get?uid=$OUID" {key}',
        f"  curl -s '{a}/orders/list?page=1&pagesize=10' {key}",
        f'  curl -s -X POST "{a}/order/close?uid=$OUID&token=$OTOKEN" {key}',
    ]


async def ensure_demo_operators(database_url: str) -> None:
    """Create the demo's console operators that do not exist yet (a second run keeps them)."""
    from orderdesk.core.operators.service import create_operator, list_operators
    from orderdesk.db.base import utcnow
    from orderdesk.db.engine import create_engine, create_sessionmaker, transaction

    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            existing = {operator.email for operator in await list_operators(session)}
            for email, role, organization, name in DEMO_OPERATORS:
                if email not in existing:
                    await create_operator(
                        session,
                        email=email,
                        password=DEMO_OPERATOR_PASSWORD,
                        role=role,
                        organization=organization,
                        name=name,
                        now=utcnow(),
                    )
    finally:
        await engine.dispose()
