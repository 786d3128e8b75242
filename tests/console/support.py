"""What the console's browser tests share: a real server with data and operators, and signing in.

The data is what an installation has on its first day: a setup document applied with
``orderdesk apply`` (one partner store, two restaurants) and operators created with
``orderdesk operator create``, the password on standard input. Orders arrive the way clients send
them, through the partner API and the restaurant API over HTTP, so a console page shows exactly
what the wire produced.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tests.reliability.support import cli_env

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Pages render on the server; a slow, shared CI machine still gets generous time.
TIMEOUT_MS = 15_000
PASSWORD_LENGTH = 16
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

PARTNER = "harbor"
PARTNER_STORE = "harbor-riga"
PARTNER_TIMEZONE = "Europe/Riga"
PARTNER_ITEMS = (7001, 7002)
RESTAURANTS = ("luna", "sole")
# Seconds a restaurant has to confirm a customer's order: long enough that no order times out
# while a test looks at it.
COUNTDOWN_SECONDS = 900

# The ``new_context`` fixture: ``await new_context(**playwright_options)`` -> BrowserContext.
NewContext = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str
    role: str
    organization: str | None = None


@dataclass(frozen=True)
class Restaurant:
    """A restaurant of the setup document and what its API clients need."""

    uid: str
    location: str
    products: tuple[str, ...]
    client_id: str
    client_secret: str
    api_key: str

    @property
    def client_headers(self) -> dict[str, str]:
        """Headers of the ordering client (``POST /api/order/create`` and friends)."""
        return {"X-Client-Id": self.client_id, "X-Client-Secret": self.client_secret}

    @property
    def key_headers(self) -> dict[str, str]:
        """Headers of the restaurant's own key (``/api/orders/...``)."""
        return {"X-Api-Key": self.api_key}


def restaurant_section(uid: str) -> dict[str, Any]:
    """A restaurant open all day with one location, pickup, two products and a countdown."""
    suffix = secrets.token_hex(4)
    return {
        "uid": uid,
        "name": f"Trattoria {uid.title()}",
        "timezone": "Europe/Rome",
        "language": "it",
        "currency": "EUR",
        "auto_confirm": False,
        "countdown_seconds": COUNTDOWN_SECONDS,
        "api_keys": [f"{uid}-key-{suffix}-0123456789"],
        "clients": [
            {
                "client_id": f"{uid}-web",
                "client_secret": f"{uid}-secret-{suffix}-0123456789",
                "scopes": ["write:orders", "read:orders", "read:menu", "write:menu"],
            }
        ],
        "subrestaurants": [
            {
                "uid": f"{uid}-centro",
                "name": f"{uid.title()} Centro",
                "code": "C",
                "address": "Via Roma 1",
                "city": "Milano",
                "province": "MI",
                "zip": "20121",
                "country": "IT",
                "lat": 45.4642,
                "lng": 9.19,
                "opening_hours": {day: [["00:00", "24:00"]] for day in EVERY_DAY},
                "lead_minutes": 20,
                "slot_minutes": 15,
                "orders_per_slot": 50,
            }
        ],
        "dmethods": ["0"],
        "cash_subs": ["cash"],
        "categories": [{"uid": f"{uid}-pizze", "name": "Pizze", "position": 0}],
        "products": [
            {
                "uid": f"{uid}-margherita",
                "category_uid": f"{uid}-pizze",
                "name": "Margherita",
                "price": 750,
            },
            {
                "uid": f"{uid}-diavola",
                "category_uid": f"{uid}-pizze",
                "name": "Diavola",
                "price": 900,
            },
        ],
    }


def setup_document() -> dict[str, Any]:
    """The partner ``harbor`` (store ``harbor-riga``, masters in every timeslot every day, two
    items) and the restaurants ``luna`` and ``sole``."""
    return {
        "version": 1,
        "partners": [
            {
                "name": PARTNER,
                "title": "Harbor Furniture",
                "users": [{"login": f"api@{PARTNER}.example", "password": "harbor api password"}],
                "stores": [
                    {
                        "id": PARTNER_STORE,
                        "title": "Harbor Rīga",
                        "timezone": PARTNER_TIMEZONE,
                        "masters": {"0712": 3, "1217": 3, "1721": 3},
                    }
                ],
            }
        ],
        "items": [
            {
                "id": PARTNER_ITEMS[0],
                "title": "Fjord wardrobe 100x201",
                "category": "wardrobes",
                "delivery": True,
                "assembly": True,
                "delivery_price": 3500,
                "assembly_price": 6900,
                "currency": "EUR",
            },
            {
                "id": PARTNER_ITEMS[1],
                "title": "Malm bed frame 160x200",
                "category": "beds",
                "delivery": True,
                "assembly": False,
                "delivery_price": 2500,
                "currency": "EUR",
            },
        ],
        "restaurants": [restaurant_section(uid) for uid in RESTAURANTS],
    }


def restaurants_of(document: dict[str, Any]) -> dict[str, Restaurant]:
    found = {}
    for section in document["restaurants"]:
        client = section["clients"][0]
        found[section["uid"]] = Restaurant(
            uid=section["uid"],
            location=section["subrestaurants"][0]["uid"],
            products=tuple(product["uid"] for product in section["products"]),
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            api_key=section["api_keys"][0],
        )
    return found


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_LENGTH)


async def orderdesk(database_url: str, *args: str, stdin: str | None = None) -> str:
    """Run ``orderdesk ARGS --database-url URL``; its standard output, or fail with what it
    said."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orderdesk",
        *args,
        "--database-url",
        database_url,
        env=cli_env(),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        proc.communicate(stdin.encode() if stdin is not None else None), 120
    )
    assert proc.returncode == 0, f"orderdesk {' '.join(args)}: {err.decode()}{out.decode()}"
    return out.decode()


@dataclass
class ConsoleServer:
    """A running ``orderdesk serve`` with the setup document applied and operators created.

    ``admin`` is an admin operator; ``staff[uid]`` the staff operator of restaurant ``uid``
    (``luna`` and ``sole``). ``partner_order`` and ``restaurant_order`` send orders through the
    public APIs and return what the API answered.
    """

    base_url: str
    database_url: str
    backend: str
    admin: Credentials
    staff: dict[str, Credentials]
    restaurants: dict[str, Restaurant]
    partner_login: str = f"api@{PARTNER}.example"
    partner_password: str = "harbor api password"
    _partner_token: str | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return self.base_url + path

    async def create_operator(
        self, role: str, *, organization: str | None = None, name: str | None = None
    ) -> Credentials:
        """One more operator, through ``orderdesk operator create`` like the fixture's own."""
        email = f"{role}-{secrets.token_hex(4)}@console.example"
        password = new_password()
        args = ["operator", "create", email, "--role", role]
        if organization:
            args += ["--org", organization]
        if name:
            args += ["--name", name]
        await orderdesk(self.database_url, *args, stdin=password + "\n")
        return Credentials(email, password, role, organization)

    async def partner_headers(self) -> dict[str, str]:
        if self._partner_token is None:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
                answer = await client.post(
                    "/partner/auth/authorize",
                    json={"login": self.partner_login, "password": self.partner_password},
                )
            assert answer.status_code == 200, answer.text
            self._partner_token = str(answer.json()["data"]["token"])
        return {"token": self._partner_token}

    @staticmethod
    def partner_day(days_ahead: int = 2) -> str:
        """The store's local date ``days_ahead`` days from today, ``YYYY-MM-DD``."""
        today = datetime.now(UTC).astimezone(ZoneInfo(PARTNER_TIMEZONE)).date()
        return (today + timedelta(days=days_ahead)).isoformat()

    def partner_order_body(
        self, *, days_ahead: int = 2, timeslot: str = "1217", **overrides: Any
    ) -> dict[str, Any]:
        """A cash order of the wardrobe, delivered and assembled, in one timeslot."""
        body: dict[str, Any] = {
            "customer": {
                "phone_number": "+371 20 000 000",
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
                "store_id": PARTNER_STORE,
                "items": [{"id": PARTNER_ITEMS[0], "count": 1, "delivery": True, "assembly": True}],
                "instock": True,
                "delivery_type": "to_door_by_lift",
            },
            "datetime": [{"date": self.partner_day(days_ahead), "timeslot": timeslot}],
            "payment_method": "cash",
            "image_uuids": [],
        }
        body.update(overrides)
        return body

    async def partner_order(self, **overrides: Any) -> dict[str, Any]:
        """``POST /partner/order/create`` with :meth:`partner_order_body`; the answer's
        ``data`` (its ``_id`` is the order id)."""
        headers = await self.partner_headers()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            answer = await client.post(
                "/partner/order/create", json=self.partner_order_body(**overrides), headers=headers
            )
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    async def pickup_time(self, restaurant: str) -> str:
        """The first pickup time ``restaurant`` offers, as the API writes it."""
        r = self.restaurants[restaurant]
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            answer = await client.post(
                "/api/order/pickup_delivery_times",
                headers=r.client_headers,
                json={"dmethod": "0", "subrestaurant_uid": r.location},
            )
        body = answer.json()
        assert answer.status_code == 200 and body["success"], answer.text
        return str(body["data"]["pickup_times"][0]["date"])

    async def restaurant_order(
        self,
        restaurant: str = RESTAURANTS[0],
        *,
        quantity: int = 1,
        product: int = 0,
        first_name: str = "Anna",
        **overrides: Any,
    ) -> dict[str, Any]:
        """A customer's cash pickup order at ``restaurant`` (awaiting its confirmation, the
        countdown running); ``POST /api/order/create``'s ``order``."""
        r = self.restaurants[restaurant]
        body: dict[str, Any] = {
            "client": {
                "first_name": first_name,
                "last_name": "Rossi",
                "email": "anna@example.com",
                "phone": "02 1234567",
            },
            "dmethod": "0",
            "payment_method": "cash",
            "payment_method_sub": "cash",
            "subrestaurant_uid": r.location,
            "pickup": {"date": await self.pickup_time(restaurant)},
            "details": [{"product": {"uid": r.products[product]}, "quantity": quantity}],
        }
        body.update(overrides)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            answer = await client.post("/api/order/create", headers=r.client_headers, json=body)
        payload = answer.json()
        assert answer.status_code == 200 and payload.get("success") is True, answer.text
        order: dict[str, Any] = payload["order"]
        return order


async def sign_in(page: Any, email: str, password: str) -> None:
    """Sign in through the form at ``/console/login`` and wait for the board (``/console/``).

    ``page`` belongs to a context whose ``base_url`` is the server's (the ``page`` and
    ``new_context`` fixtures make them so).
    """
    await page.goto("/console/login")
    await page.locator("input[name=email]").fill(email)
    await page.locator("input[name=password]").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/", timeout=TIMEOUT_MS)
