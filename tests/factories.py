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
    doc = {"id": next(_item_ids), "title": title, "category": "wardrobes", "delivery": True,
           "assembly": True, "delivery_price": 2500, "assembly_price": 6900, "currency": "EUR"}
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
        {"id": f"{name}-store-{i}", "title": f"Store {i} of {name}", "timezone": timezone,
         "masters": masters if masters is not None else {"0712": 2, "1217": 2, "1721": 1},
         "masters_on": masters_on or []}
        for i in range(stores)
    ]
    item_docs = items if items is not None else [
        item_doc("PAX wardrobe 150x236"),
        item_doc("MALM bed frame 160x200", assembly=False, assembly_price=None),
    ]
    for doc in item_docs:
        if doc.get("assembly_price") is None:
            doc.pop("assembly_price", None)
    document = {
        "version": 1,
        "partners": [{"name": name, "title": f"Partner {suffix}",
                      "users": [{"login": login, "password": PASSWORD}],
                      "stores": store_docs}],
        "items": item_docs,
    }
    await apply_document(state, document)
    return PartnerSetup(name, login, PASSWORD, [s["id"] for s in store_docs],
                        [i["id"] for i in item_docs], document)


async def login(client: httpx.AsyncClient, partner: PartnerSetup) -> dict[str, str]:
    """Headers carrying a fresh token of ``partner``."""
    response = await client.post("/partner/auth/authorize",
                                 json={"login": partner.login, "password": partner.password})
    assert response.status_code == 200, response.text
    return {"token": response.json()["data"]["token"]}


def order_body(
    partner: PartnerSetup, dates: list[tuple[str, str]], **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"phone_number": "+371 20 000 000", "first_name": "Anna",
                     "last_name": "Ozola"},
        "address": {"address": "Brivibas iela 1, Riga",
                    "coordinates": {"lat": 56.95, "lon": 24.11}, "details": "3rd floor",
                    "zip": "LV-1010"},
        "partner_details": {"store_id": partner.stores[0],
                            "items": [{"id": partner.items[0], "count": 1, "delivery": True,
                                       "assembly": True}],
                            "instock": True, "delivery_type": "to_door_by_lift"},
        "datetime": [{"date": d, "timeslot": s} for d, s in dates],
        "payment_method": "cash",
        "image_uuids": [],
    }
    body.update(overrides)
    return body
