"""The built-in demo setup (``orderdesk serve --demo``, ``orderdesk demo-setup``).

Two partners with four stores in three time zones, a marketplace catalog of about 300 items built
from product lines, sizes and finishes (some with accented names, some without assembly), and a few
Milano addresses for the gazetteer. The document is deterministic for a given day: its
``masters_on`` overrides fall on the next occurrence of public holidays, so they are always in the
future and re-applying the demo on the same day changes nothing.

The demo webhook points at ``http://127.0.0.1:9999``: run any local receiver there to watch order
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
    _Line("wardrobes", 1001, ("Fjord wardrobe", "Aurora sliding-door wardrobe",
                              "Garde-robe Élise"),
          ("100x201", "150x201", "150x236", "200x236"), ("white", "oak effect", "black-brown"),
          delivery_price=3500, assembly_price=6900, assembly_step=1500),
    _Line("beds", 2001, ("Solvik bed frame", "Lune upholstered bed", "Bett Schöneberg"),
          ("90x200", "140x200", "160x200", "180x200"), ("white", "light grey", "walnut"),
          delivery_price=2900, assembly_price=4900, assembly_step=500),
    _Line("sofas", 3001, ("Havn sofa", "Milo sofa", "Canapé Céleste"),
          ("2-seat", "3-seat", "corner"), ("beige", "dark grey", "velvet green", "navy"),
          delivery_price=3900, assembly_price=2900, no_assembly_sizes=("2-seat", "3-seat")),
    _Line("kitchens", 4001, ("Kvik base cabinet", "Kvik wall cabinet", "Cucina Bellagio unit"),
          ("40 cm", "60 cm", "80 cm"), ("matt white", "sage green", "oak"),
          delivery_price=1900, assembly_price=3900, assembly_step=1000),
    _Line("shelving", 5001, ("Étagère Lumière", "Kallo shelf unit", "Bücherregal Jönsson"),
          ("80x100", "80x180", "160x180"), ("white", "black", "birch"),
          delivery_price=1500, assembly_price=2900, assembly_step=1000),
    _Line("tables", 6001, ("Ekby dining table", "Tavolo Mélange", "Couchtisch Über"),
          ("120x80", "160x90", "200x100"), ("oak", "white", "smoked ash"),
          delivery_price=2500, assembly_price=2500, assembly_step=500),
    _Line("chairs", 7001, ("Lisa chair", "Stuhl Jörg", "Chaise Amélie", "Ravn bar stool"),
          ("",), ("black", "white", "natural", "olive"),
          delivery_price=900, assembly_price=None),
    _Line("desks", 8001, ("Linnmon desk", "Schreibtisch Höhenverstellbar"),
          ("120x60", "140x70", "160x80"), ("white", "black", "oak"),
          delivery_price=1900, assembly_price=3900, assembly_step=500),
    _Line("dressers", 9001, ("Kommode Größe", "Hemnes chest of drawers"),
          ("S", "M", "L"), ("white", "oak", "grey"),
          delivery_price=2200, assembly_price=3500, assembly_step=1000),
    _Line("appliances", 10001, ("Frostig fridge-freezer", "Sauber dishwasher",
                                "Brio built-in oven", "Glöd induction hob",
                                "Rena washing machine", "Bjärt microwave"),
          ("standard", "plus"), ("stainless steel", "white", "black"),
          delivery_price=3500, assembly_price=4900, assembly_step=1000),
    _Line("mattresses", 11001, ("Höylä foam mattress", "Matelas Sérénité pocket spring"),
          ("90x200", "140x200", "160x200", "180x200"), ("medium", "firm"),
          delivery_price=1900, assembly_price=None),
)


def _items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for spec in _CATALOG:
        combinations = product(spec.lines, enumerate(spec.sizes), spec.finishes)
        for offset, (line, (step, size), finish) in enumerate(combinations):
            name = f"{line} {size}".strip()
            # The microwave stands on a shelf: nothing to install.
            offers_assembly = (spec.assembly_price is not None
                               and size not in spec.no_assembly_sizes
                               and "microwave" not in line)
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


def _store(store_id: str, title: str, timezone: str, masters: dict[str, int],
           closures: list[tuple[date, str, int]]) -> dict[str, object]:
    return {
        "id": store_id, "title": title, "timezone": timezone, "masters": masters,
        "masters_on": [{"date": day.isoformat(), "timeslot": slot, "masters": count}
                       for day, slot, count in closures],
    }


def _partners(today: date) -> list[dict[str, object]]:
    christmas_eve, new_year = _next(12, 24, today), _next(1, 1, today)
    independence_day = _next(7, 4, today)
    holidays_eu = [(christmas_eve, "1217", 1), (christmas_eve, "1721", 0),
                   (new_year, "0712", 0), (new_year, "1217", 0), (new_year, "1721", 0)]
    logins = dict(DEMO_LOGINS)
    return [
        {
            "name": "nordhaus", "title": "Nordhaus Möbel",
            "users": [{"login": login, "password": logins[login]}
                      for login in ("api@nordhaus.example", "shop@nordhaus.example")],
            "webhooks": [{"url": "http://127.0.0.1:9999/hooks/nordhaus",
                          "secret": "whsec-nordhaus-demo"}],
            "stores": [
                _store("nordhaus-riga", "Nordhaus Rīga", "Europe/Riga",
                       {"0712": 3, "1217": 3, "1721": 2}, holidays_eu),
                _store("nordhaus-berlin", "Nordhaus Berlin-Mitte", "Europe/Berlin",
                       {"0712": 2, "1217": 2, "1721": 1}, holidays_eu),
            ],
        },
        {
            "name": "kitchenworks", "title": "KitchenWorks",
            "users": [{"login": "api@kitchenworks.example",
                       "password": logins["api@kitchenworks.example"]}],
            "stores": [
                _store("kitchenworks-brooklyn", "KitchenWorks Brooklyn", "America/New_York",
                       {"0712": 2, "1217": 3, "1721": 1},
                       [(independence_day, slot, 0) for slot in ("0712", "1217", "1721")]),
                _store("kitchenworks-munich", "KitchenWorks München", "Europe/Berlin",
                       {"0712": 1, "1217": 2, "1721": 0}, holidays_eu[:2]),
            ],
        },
    ]


# (street, number, zip, lat, lng) in Milano.
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
)


def _places() -> list[dict[str, object]]:
    return [
        {"place_id": "-".join(fold(f"{street} {number} Milano").split()),
         "street": street, "number": number, "city": "Milano", "province": "MI", "zip": zip_code,
         "country": "IT", "lat": lat, "lng": lng}
        for street, number, zip_code, lat, lng in _MILANO
    ]


def demo_document(today: date | None = None) -> dict[str, object]:
    """A valid setup document for demos and manual testing (``parse_setup`` accepts it)."""
    return {
        "version": 1,
        "partners": _partners(today or date.today()),
        "items": _items(),
        "places": _places(),
    }
