"""Fuzzing both dialects from their own OpenAPI document (schemathesis + hypothesis).

Every operation under ``/partner`` and ``/api`` gets the documented request examples, the
coverage phase's boundary and invalid values, and generated requests (valid and invalid), sent
to the in-process app on a SQLite database built by the migrations with the demo setup applied.
Each response must not be a 5xx, must have a documented status and content type, and its body
must conform to the documented schema (``dialects/*/responses.py``).

Most requests carry working credentials (a partner ``token`` from ``/partner/auth/authorize``;
the restaurant's API key, client id and secret, or an OAuth bearer token), and some of the ids
they name are replaced by ids that exist (orders, images, menu uids, coupon codes), so the
success paths are fuzzed as well as the 4xx ones. A second, smaller run sends the same operations
without credentials or with wrong ones.

The generated inputs are reproducible (derandomized, fixed seed); the data they meet depends on
the day (free slots and pickup times). ``FUZZ_EXAMPLES`` is how many requests hypothesis must
generate in the whole run (default 2,000; the examples and the coverage phase add about 2,000
more; ``FUZZ_EXAMPLES=20000`` for a long local run). The name has no ``ORDERDESK_`` prefix on
purpose: ``load_settings`` refuses unknown ``ORDERDESK_*`` variables, so exporting one would
break the in-process CLI tests.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orderdesk.app import create_app
from orderdesk.dialects.partner.responses import RESPONSES as PARTNER_RESPONSES
from orderdesk.dialects.restaurant.responses import RESPONSES as RESTAURANT_RESPONSES
from orderdesk.settings import Settings
from orderdesk.setup.apply import apply_file
from orderdesk.setup.demo import (
    DEMO_LOGINS,
    DEMO_RESTAURANT_API_KEY,
    DEMO_RESTAURANT_CLIENT_ID,
    DEMO_RESTAURANT_CLIENT_SECRET,
    demo_document,
    demo_restaurant,
)

pytestmark = pytest.mark.fuzz

TOTAL_CASES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
OPERATIONS = len(PARTNER_RESPONSES) + len(RESTAURANT_RESPONSES)
# Generated cases per operation for the run with credentials (the explicit examples and the
# coverage phase's cases come on top). Hypothesis stops early on operations with few distinct
# inputs, hence the margin. The run without credentials needs far fewer to reach every
# authentication failure.
WITH_CREDENTIALS = math.ceil(1.2 * TOTAL_CASES / OPERATIONS)
WITHOUT_CREDENTIALS = max(5, WITH_CREDENTIALS // 10)
SEED = 20261123
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Generation is slow for the big request bodies (the menu import) and many generated values
# are filtered out by design; neither says anything about the server.
HEALTH_CHECKS = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

# In memory where the machine has it: the run writes thousands of small transactions.
_SHM = Path("/dev/shm")
WORKDIR = (_SHM if _SHM.is_dir() else Path(tempfile.gettempdir())) / f"orderdesk-fuzz-{os.getpid()}"
DATABASE_URL = f"sqlite:///{WORKDIR / 'fuzz.db'}"
# The rate limiter would answer 429 to a fuzzer long before the fuzzer is done.
_NO_RATE_LIMIT: dict[str, Any] = (
    {"rate_limit_enabled": False} if "rate_limit_enabled" in Settings.model_fields else {}
)
APP = create_app(
    Settings(database_url=DATABASE_URL, media_dir=WORKDIR / "media", **_NO_RATE_LIMIT),
    background=False,
)


def _schema(*, all_phases: bool) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all"},
            "phases": {
                "examples": {"enabled": all_phases},
                "coverage": {"enabled": all_phases},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )
    schema = schemathesis.openapi.from_dict(APP.openapi(), config=config)
    schema.app = APP
    return schema.include(path_regex=r"^/(partner|api)/")


SCHEMA = _schema(all_phases=True)
SCHEMA_WITHOUT_CREDENTIALS = _schema(all_phases=False)

# A reader that may not write (403 INSUFFICIENT_SCOPE) and a second restaurant whose data the
# demo restaurant may not ask for (restuid: 403 UNAUTHORIZED).
READER = ("fuzz-menu-reader", "fuzz-menu-reader-secret")
OTHER_RESTAURANT = {
    "uid": "fuzz-other",
    "name": "Another restaurant",
    "timezone": "Europe/Rome",
    "language": "it",
    "currency": "EUR",
}
PARTNER_STORES = ["nordhaus-riga", "nordhaus-berlin"]  # the stores of DEMO_LOGINS[0]
PLAIN_PRODUCTS = ["acqua-naturale", "coca-cola", "tiramisu", "panna-cotta", "birra-moretti"]
COUPONS = ["WELCOME10", "SCONTO5", "AMICI3", "ESTATE", "welcome10", "NOPE"]


class Known:
    """What exists in the fuzzed database, filled in by :func:`fuzz_database`."""

    partner_token = ""
    bearer_token = ""
    items: list[int] = []
    slot_dates: list[str] = []
    order_ids: list[str] = []
    image_names: list[str] = []
    pickup_times: list[str] = []
    places: list[str] = []
    restaurant_orders: list[tuple[str, str]] = []
    categories: list[str] = []
    products: list[str] = []


# Requests sent, by run and by schemathesis phase (examples, coverage, fuzzing).
CASES: dict[str, Counter[str]] = {"with credentials": Counter(), "without credentials": Counter()}


def _call(method: str, path: str, **kwargs: Any) -> Any:
    """One request for setting up data: it must succeed and conform like any fuzzed one."""
    case = SCHEMA[path][method].Case(**kwargs)
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    body = response.json()
    assert response.status_code == 200 and body.get("success", True), response.text
    return body


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (32, 24), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _document() -> dict[str, Any]:
    document = demo_document()
    bella = document["restaurants"][0]
    bella["countdown_seconds"] = 86400  # seeded orders stay confirmable through a long run
    bella["clients"].append(
        {"client_id": READER[0], "client_secret": READER[1], "scopes": ["read:menu"]}
    )
    document["restaurants"].append(OTHER_RESTAURANT)
    return document


def _partner_order(index: int) -> dict[str, Any]:
    return {
        "customer": {
            "phone_number": f"+3712000{index:04d}",
            "first_name": "Anna",
            "last_name": "Ozola",
        },
        "address": {
            "address": "Brivibas iela 1, Riga",
            "coordinates": {"lat": 56.95, "lon": 24.11},
            "details": "",
            "zip": "LV-1010",
        },
        "partner_details": {
            "store_id": PARTNER_STORES[0],
            "items": [
                {
                    "id": Known.items[index],
                    "count": 1 + index % 3,
                    "delivery": True,
                    "assembly": index % 2 == 0,
                }
            ],
            "instock": index % 2 == 0,
            "delivery_type": "to_door_by_lift",
        },
        "datetime": [{"date": day, "timeslot": "1217"} for day in Known.slot_dates[index:][:2]],
        "payment_method": "stripe" if index % 2 else "cash",
        "image_uuids": [name.removesuffix(".webp") for name in Known.image_names[index:][:1]],
    }


def _restaurant_order(index: int) -> dict[str, Any]:
    delivery = index % 3 == 2
    when = Known.pickup_times[index % len(Known.pickup_times)].replace(" ", "T")
    body: dict[str, Any] = {
        "client": {
            "first_name": "Giulia",
            "last_name": "Rossi",
            "email": f"giulia{index}@example.com",
            "phone": "+39 02 1234567",
        },
        "dmethod": "1" if delivery else "0",
        "payment_method": "cash",
        "payment_method_sub": "pos",
        "subrestaurant_uid": "bella-centro",
        "language": "it",
        "details": [
            {
                "product": {"uid": "margherita"},
                "quantity": 2,
                "notes": "ben cotta",
                "options": [
                    {"uid": "margherita-formato", "values": [{"uid": "maxi"}]},
                    {"uid": "margherita-extra", "values": [{"uid": "funghi", "quantity": 2}]},
                ],
            },
            {"product": {"uid": PLAIN_PRODUCTS[index % len(PLAIN_PRODUCTS)]}, "quantity": 1},
        ],
        "coupon": {"code": "WELCOME10"} if index % 2 else None,
        "creator": "restaurant" if index % 4 == 3 else "customer",
    }
    if delivery:
        body["delivery"] = {
            "date": when,
            "address": {"place_id": "via-roma-1-milano", "doorbell": "Rossi", "floor": "3"},
        }
    else:
        body["pickup"] = {"date": when}
    return body


@pytest.fixture(scope="module", autouse=True)
def fuzz_database() -> Iterator[None]:
    """The demo setup, a partner token, a bearer token, and a few orders and images to name."""
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    document = _document()
    asyncio.run(apply_file(DATABASE_URL, document))
    Known.items = [item["id"] for item in document["items"]][:40]
    Known.places = [place["place_id"] for place in document["places"]]
    bella = demo_restaurant()
    Known.categories = [category["uid"] for category in bella["categories"]]
    Known.products = [product["uid"] for product in bella["products"]]

    login, password = DEMO_LOGINS[0]
    Known.partner_token = _call(
        "POST", "/partner/auth/authorize", body={"login": login, "password": password}
    )["data"]["token"]
    partner = {"token": Known.partner_token}
    free = _call("GET", "/partner/slots/free", query={"store_id": PARTNER_STORES[0]})["data"]
    Known.slot_dates = [day for day, slots in free.items() if slots["1217"]]
    for _ in range(2):
        uploaded = _call(
            "POST",
            "/partner/image/upload",
            headers=partner,
            media_type="multipart/form-data",
            body={"file": _png()},
        )
        Known.image_names.append(f"{uploaded['data'][0]['id']}.webp")
    Known.order_ids = [
        str(
            _call("POST", "/partner/order/create", headers=partner, body=_partner_order(index))[
                "data"
            ]["_id"]
        )
        for index in range(4)
    ]

    Known.bearer_token = _call(
        "POST",
        "/api/oauth/token",
        media_type="application/x-www-form-urlencoded",
        body={
            "grant_type": "client_credentials",
            "client_id": DEMO_RESTAURANT_CLIENT_ID,
            "client_secret": DEMO_RESTAURANT_CLIENT_SECRET,
        },
    )["access_token"]
    restaurant = {"X-Api-Key": DEMO_RESTAURANT_API_KEY}
    times = _call(
        "POST",
        "/api/order/pickup_delivery_times",
        headers=restaurant,
        body={"dmethod": "0", "subrestaurant_uid": "bella-centro"},
    )["data"]
    Known.pickup_times = [entry["date"] for entry in times["pickup_times"]]
    assert Known.pickup_times, "Bella Centro has no free pickup time in the next days"
    for index in range(6):
        created = _call(
            "POST", "/api/order/create", headers=restaurant, body=_restaurant_order(index)
        )["order"]
        Known.restaurant_orders.append((created["uid"], created["token"]))
    yield
    shutil.rmtree(WORKDIR, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Steering generated requests towards data that exists


def _digest(case: Any) -> int:
    """A stable number from what was generated, so that every choice below is reproducible."""
    material = json.dumps(
        [case.path_parameters, case.query, case.body], sort_keys=True, default=repr
    )
    return zlib.crc32(material.encode())


def _pick(values: list[Any], digest: int) -> Any:
    return values[digest % len(values)]


def _patch_dates(entries: Any, digest: int) -> None:
    if isinstance(entries, list) and Known.slot_dates:
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and "date" in entry:
                entry["date"] = _pick(Known.slot_dates, digest + index)


def _patch_partner_order(body: Any, digest: int) -> None:
    if not isinstance(body, dict):
        return
    details = body.get("partner_details")
    if isinstance(details, dict):
        details["store_id"] = _pick(PARTNER_STORES, digest)
        items = details.get("items")
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    item["id"] = _pick(Known.items, digest + index)
    customer = body.get("customer")
    if isinstance(customer, dict):
        customer["phone_number"] = f"+3712{digest % 10_000_000:07d}"
    if "image_uuids" in body:
        body["image_uuids"] = []
    _patch_dates(body.get("datetime"), digest)


def _patch_restaurant_order(body: Any, digest: int) -> None:
    if not isinstance(body, dict):
        return
    body["subrestaurant_uid"] = _pick(["bella-centro", "bella-navigli"], digest)
    when = _pick(Known.pickup_times, digest).replace(" ", "T")
    if digest % 4:
        body["dmethod"] = "0"
        body["pickup"] = {"date": when}
    else:
        body["dmethod"] = "1"
        body["delivery"] = {"date": when, "address": {"place_id": _pick(Known.places, digest)}}
    if body.get("payment_method") == "cash":
        body["payment_method_sub"] = _pick(["pos", "contanti"], digest)
    details = body.get("details")
    if isinstance(details, list):
        for index, detail in enumerate(details):
            if isinstance(detail, dict) and isinstance(detail.get("product"), dict):
                detail["product"]["uid"] = _pick(PLAIN_PRODUCTS, digest + index)
                detail["options"] = []
    client = body.get("client")
    if isinstance(client, dict):
        client["email"] = f"fuzz{digest % 1000}@example.com"
        client["phone"] = "+39 02 1234567"
    if isinstance(body.get("coupon"), dict):
        body["coupon"]["code"] = _pick(COUPONS, digest)


def _steer(case: Any) -> None:
    """Name existing things in about two cases out of three (the third stays as generated)."""
    digest = _digest(case)
    if digest % 3 == 0:
        return
    path, query, params = case.path, case.query, case.path_parameters
    if "order_id" in params and Known.order_ids:
        params["order_id"] = _pick(Known.order_ids, digest)
    if "name" in params:
        params["name"] = _pick(Known.image_names, digest)
    if path == "/partner/slots/free":
        query["store_id"] = _pick([*PARTNER_STORES, "kitchenworks-munich", "bella-centro"], digest)
    elif path == "/partner/order/create":
        _patch_partner_order(case.body, digest)
    elif path.endswith("/datetime") and isinstance(case.body, dict):
        _patch_dates(case.body.get("datetime"), digest)
    elif path in ("/api/orders/get", "/api/order/confirm", "/api/order/close"):
        uid, token = _pick(Known.restaurant_orders, digest)
        query["uid"] = uid
        if "token" in query or path != "/api/orders/get":
            query["token"] = token if digest % 5 else "not-the-token"
    elif path == "/api/menu/category":
        query["uid"] = _pick(Known.categories, digest)
    elif path == "/api/menu/product":
        query["uid"] = _pick(Known.products, digest)
    elif path == "/api/menu/products" and "catuid" in query:
        query["catuid"] = _pick(Known.categories, digest)
    elif path == "/api/coupon/apply":
        query["code"] = _pick(COUPONS, digest)
    elif path == "/api/coupon/generate":
        query["gencode"] = _pick(["BDAY", "bday", "NOPE"], digest)
    elif path == "/api/order/create":
        _patch_restaurant_order(case.body, digest)
    elif path == "/api/order/pickup_delivery_times" and isinstance(case.body, dict):
        case.body["subrestaurant_uid"] = _pick(["bella-centro", "bella-navigli"], digest)
        if digest % 2:
            case.body.update(dmethod="1", place_id=_pick(Known.places, digest))
    elif path == "/api/order/validate_address" and isinstance(case.body, dict):
        case.body["address"] = _pick(
            ["Via Roma 1, Milano", "Corso Como 10 Milano", "Piazza del Duomo 1"], digest
        )


def _phase(case: Any) -> str:
    return case.meta.phase.name.value if case.meta is not None else "explicit"


def _restaurant_credentials(digest: int) -> dict[str, str]:
    choice = digest % 3
    if choice == 0:
        return {"X-Api-Key": DEMO_RESTAURANT_API_KEY}
    if choice == 1:
        return {
            "X-Client-Id": DEMO_RESTAURANT_CLIENT_ID,
            "X-Client-Secret": DEMO_RESTAURANT_CLIENT_SECRET,
        }
    return {"Authorization": f"Bearer {Known.bearer_token}"}


def _wrong_credentials(case: Any) -> None:
    """No credentials, or ones that fail in each way the dialect tells apart."""
    digest = _digest(case)
    if case.path.startswith("/partner/"):
        if digest % 2:
            case.headers.pop("token", None)
        else:
            case.headers["token"] = _pick(["revoked-or-never-issued", ""], digest // 2)
        return
    choice = digest % 6
    wrong: dict[str, str] = [
        {},
        {"X-Api-Key": "not-a-key"},
        {"X-Client-Id": DEMO_RESTAURANT_CLIENT_ID, "X-Client-Secret": "wrong"},
        {"Authorization": "Bearer not-a-token"},
        {"X-Client-Id": READER[0], "X-Client-Secret": READER[1]},
        {"X-Api-Key": DEMO_RESTAURANT_API_KEY},
    ][choice]
    case.headers.update(wrong)
    if choice == 5:  # a working key asking for another restaurant's data, or an unknown one
        case.query["restuid"] = _pick([OTHER_RESTAURANT["uid"], "no-such-restaurant"], digest)


# --------------------------------------------------------------------------------------------
# The runs


@SCHEMA.parametrize()
@settings(
    max_examples=WITH_CREDENTIALS,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=HEALTH_CHECKS,
)
def test_with_credentials(case: Any) -> None:
    CASES["with credentials"][_phase(case)] += 1
    if case.path == "/partner/auth/revoke":
        login, password = DEMO_LOGINS[1]
        case.headers["token"] = _call(
            "POST", "/partner/auth/authorize", body={"login": login, "password": password}
        )["data"]["token"]
    elif case.path.startswith("/partner/"):
        case.headers["token"] = Known.partner_token
    elif case.path != "/api/oauth/token":
        case.headers.update(_restaurant_credentials(_digest(case)))
    _steer(case)
    case.call_and_validate(checks=CHECKS)


@SCHEMA_WITHOUT_CREDENTIALS.parametrize()
@settings(
    max_examples=WITHOUT_CREDENTIALS,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=HEALTH_CHECKS,
)
def test_without_credentials(case: Any) -> None:
    CASES["without credentials"][_phase(case)] += 1
    _wrong_credentials(case)
    case.call_and_validate(checks=CHECKS)


TOKEN_FIELDS = ["grant_type", "client_id", "client_secret"]


@settings(max_examples=max(20, WITH_CREDENTIALS), derandomize=True, deadline=None, database=None)
@given(
    client=st.sampled_from([(DEMO_RESTAURANT_CLIENT_ID, DEMO_RESTAURANT_CLIENT_SECRET), READER]),
    wrong=st.dictionaries(
        st.sampled_from([*TOKEN_FIELDS, "other"]),
        st.sampled_from(["password", READER[1], ""]) | st.text(max_size=20),
    ),
    left_out=st.sets(st.sampled_from(TOKEN_FIELDS)),
    scope=st.none()
    | st.sampled_from(["read:menu", "write:orders read:orders", "admin", ""])
    | st.text(max_size=20),
    media_type=st.sampled_from(["application/x-www-form-urlencoded"] * 3 + ["application/json"]),
)
def test_oauth_token_requests(
    client: tuple[str, str],
    wrong: dict[str, str],
    left_out: set[str],
    scope: str | None,
    media_type: str,
) -> None:
    """The token endpoint's form body is not in the document (it is read by hand), so its
    requests are generated here: right, wrong or missing fields, form-encoded or JSON."""
    CASES["with credentials"]["oauth forms"] += 1
    body = {
        "grant_type": "client_credentials",
        "client_id": client[0],
        "client_secret": client[1],
        **wrong,
    }
    if scope is not None:
        body["scope"] = scope
    for name in left_out:
        body.pop(name, None)
    case = SCHEMA["/api/oauth/token"]["POST"].Case(body=body, media_type=media_type)
    case.call_and_validate(checks=CHECKS)


def test_enough_cases_were_generated(request: pytest.FixtureRequest) -> None:
    """Runs last in this module: hypothesis generated at least ``FUZZ_EXAMPLES`` requests."""
    fuzzed = [
        item
        for item in request.session.items
        if item.module is request.module
        and item.name.startswith(("test_with_credentials[", "test_without_credentials["))
    ]
    if len(fuzzed) < 2 * OPERATIONS:
        pytest.skip("only part of the fuzz run was selected")
    generated = (
        sum(CASES[run]["fuzzing"] for run in CASES) + CASES["with credentials"]["oauth forms"]
    )
    sent = sum(sum(phases.values()) for phases in CASES.values())
    print(
        f"\nfuzz requests: {sent}, generated by hypothesis: {generated}; "
        f"by run and phase: { {run: dict(phases) for run, phases in CASES.items()} }"
    )
    assert generated >= TOTAL_CASES, CASES
    assert CASES["without credentials"]["fuzzing"] >= OPERATIONS, CASES
