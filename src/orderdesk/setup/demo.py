"""The built-in demo setup (``orderdesk serve --demo``, ``orderdesk demo-setup``).

Two partners with four stores in three time zones, a marketplace catalog of about 300 items built
from product lines, sizes and finishes (some with accented names, some without assembly), a
restaurant (Pizzeria Bella, two locations in Milano with a real menu, delivery zones, coupons and
credentials) and Milano addresses around both locations for the gazetteer. The document is
deterministic for a given day: its ``masters_on`` overrides fall on the next occurrence of public
holidays, so they are always in the future and re-applying the demo on the same day changes
nothing. The restaurant part does not depend on the day at all (its coupons carry no dates).

The demo webhooks point at ``http://127.0.0.1:9999``: run any local receiver there to watch order
events; without one, deliveries simply fail and are retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import product

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
                {"url": "http://127.0.0.1:9999/hooks/nordhaus", "secret": "whsec-nordhaus-demo"}
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
        "webhooks": [{"url": "http://127.0.0.1:9999/hooks/bella", "secret": "whsec-bella-demo"}],
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
