"""Restaurant API authentication: API keys, API clients, OAuth client credentials, scopes,
``restuid`` and tenancy."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
from sqlalchemy import text
from tests.conftest import FakeClock
from tests.dialects.restaurant.api_support import (
    client_headers,
    client_with,
    failed,
    ok,
    place_pickup_order,
    restaurant_from,
)
from tests.factories import MILANO_PLACES, RestaurantSetup, make_restaurant, restaurant_doc

from orderdesk.http.state import AppState

CATEGORIES = "/api/menu/categories"
TOKEN = "/api/oauth/token"


def _form(r: RestaurantSetup, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": r.client_id,
        "client_secret": r.client_secret,
        **fields,
    }


async def _bearer(client: httpx.AsyncClient, r: RestaurantSetup, **fields: str) -> dict[str, str]:
    issued = await client.post(TOKEN, data=_form(r, **fields))
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def _oauth_error(response: httpx.Response, error: str, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error
    assert isinstance(body["error_description"], str) and body["error_description"]
    return str(body["error_description"])


# --- API key ----------------------------------------------------------------------------------


async def test_valid_api_key_reads_the_menu(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    response = await client.get(CATEGORIES, headers=r.key_headers, params={"page": 1})
    body = ok(response, "page", "pagesize", "total_count", "more", "categories")
    assert {c["uid"] for c in body["categories"]} == {f"{r.uid}-pizze", f"{r.uid}-bevande"}


async def test_invalid_api_key_is_401_invalid_key(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        CATEGORIES, headers={"X-Api-Key": r.api_key + "x"}, params={"page": 1}
    )
    failed(response, "INVALID_KEY", status=401)


async def test_empty_api_key_is_401_invalid_key(client: httpx.AsyncClient) -> None:
    response = await client.get(CATEGORIES, headers={"X-Api-Key": ""}, params={"page": 1})
    failed(response, "INVALID_KEY", status=401)


# --- API client ---------------------------------------------------------------------------------


async def test_valid_client_id_and_secret_read_the_menu(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(CATEGORIES, headers=r.client_headers, params={"page": 1})
    assert (
        len(ok(response, "page", "pagesize", "total_count", "more", "categories")["categories"])
        == 2
    )


async def test_wrong_client_secret_is_401_invalid_auth(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    headers = {"X-Client-Id": r.client_id, "X-Client-Secret": r.client_secret + "x"}
    response = await client.get(CATEGORIES, headers=headers, params={"page": 1})
    failed(response, "INVALID_AUTH", status=401)


async def test_unknown_client_id_is_401_invalid_auth(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    headers = {"X-Client-Id": r.client_id + "-nobody", "X-Client-Secret": r.client_secret}
    response = await client.get(CATEGORIES, headers=headers, params={"page": 1})
    failed(response, "INVALID_AUTH", status=401)


async def test_client_id_without_secret_is_401_invalid_auth(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        CATEGORIES, headers={"X-Client-Id": r.client_id}, params={"page": 1}
    )
    failed(response, "INVALID_AUTH", status=401)


async def test_no_credentials_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(CATEGORIES, params={"page": 1})
    failed(response, "INVALID_AUTH", status=401)


# --- OAuth 2.0 client credentials ---------------------------------------------------------------


async def test_oauth_token_is_a_bearer_for_an_hour(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    issued = await client.post(TOKEN, data=_form(r))
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    assert issued.headers["cache-control"] == "no-store"
    response = await client.get(
        CATEGORIES, params={"page": 1}, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert (
        len(ok(response, "page", "pagesize", "total_count", "more", "categories")["categories"])
        == 2
    )


async def test_each_oauth_token_is_different(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    first = await _bearer(client, r)
    second = await _bearer(client, r)
    assert first != second


async def test_bearer_token_still_works_just_before_expiry(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await make_restaurant(state)
    headers = await _bearer(client, r)
    clock.advance(seconds=3599)
    response = await client.get(CATEGORIES, headers=headers, params={"page": 1})
    ok(response, "page", "pagesize", "total_count", "more", "categories")


async def test_expired_bearer_token_is_401_invalid_auth(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await make_restaurant(state)
    headers = await _bearer(client, r)
    clock.advance(seconds=3601)
    response = await client.get(CATEGORIES, headers=headers, params={"page": 1})
    failed(response, "INVALID_AUTH", status=401)


async def test_made_up_bearer_token_is_401_invalid_auth(client: httpx.AsyncClient) -> None:
    response = await client.get(
        CATEGORIES, params={"page": 1}, headers={"Authorization": "Bearer not-a-token"}
    )
    failed(response, "INVALID_AUTH", status=401)


async def test_oauth_other_grant_type_is_unsupported_grant_type(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(TOKEN, data=_form(r, grant_type="password"))
    _oauth_error(response, "unsupported_grant_type", 400)


async def test_oauth_missing_grant_type_is_unsupported_grant_type(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(
        TOKEN, data={"client_id": r.client_id, "client_secret": r.client_secret}
    )
    _oauth_error(response, "unsupported_grant_type", 400)


async def test_oauth_wrong_secret_is_invalid_client_401(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(TOKEN, data=_form(r, client_secret=r.client_secret + "x"))
    _oauth_error(response, "invalid_client", 401)


async def test_oauth_unknown_client_is_invalid_client_401(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(TOKEN, data=_form(r, client_id=r.client_id + "-nobody"))
    _oauth_error(response, "invalid_client", 401)


async def test_oauth_missing_client_secret_is_invalid_request(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": r.client_id}
    )
    description = _oauth_error(response, "invalid_request", 400)
    assert "client_secret" in description


async def test_oauth_json_body_is_invalid_request(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(TOKEN, json=_form(r))
    description = _oauth_error(response, "invalid_request", 400)
    assert "x-www-form-urlencoded" in description


async def test_oauth_scope_the_client_lacks_is_invalid_scope(
    client: httpx.AsyncClient, state: AppState
) -> None:
    doc = restaurant_doc()
    reader = client_with(doc["uid"], "read:menu")
    doc["clients"].append(reader)
    await restaurant_from(state, doc)
    response = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": reader["client_id"],
            "client_secret": reader["client_secret"],
            "scope": "read:menu write:orders",
        },
    )
    description = _oauth_error(response, "invalid_scope", 400)
    assert "write:orders" in description


async def test_oauth_unknown_scope_is_invalid_scope(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(TOKEN, data=_form(r, scope="read:everything"))
    _oauth_error(response, "invalid_scope", 400)


# --- scopes -------------------------------------------------------------------------------------


async def test_token_limited_to_read_menu_cannot_create_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    headers = await _bearer(client, r, scope="read:menu")
    menu = await client.get(CATEGORIES, headers=headers, params={"page": 1})
    ok(menu, "page", "pagesize", "total_count", "more", "categories")
    response = await client.post("/api/order/create", headers=headers, json={})
    failed(response, "INSUFFICIENT_SCOPE", status=403, names="write:orders")


async def test_client_with_only_read_menu_cannot_create_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    doc = restaurant_doc()
    reader = client_with(doc["uid"], "read:menu")
    doc["clients"].append(reader)
    await restaurant_from(state, doc)
    response = await client.post("/api/order/create", headers=client_headers(reader), json={})
    failed(response, "INSUFFICIENT_SCOPE", status=403, names="write:orders")


async def test_client_without_read_orders_cannot_list_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    doc = restaurant_doc()
    writer = client_with(doc["uid"], "write:orders")
    doc["clients"].append(writer)
    await restaurant_from(state, doc)
    response = await client.get(
        "/api/orders/list", headers=client_headers(writer), params={"page": 1}
    )
    failed(response, "INSUFFICIENT_SCOPE", status=403, names="read:orders")


async def test_api_key_has_every_scope(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    orders = await client.get("/api/orders/list", headers=r.key_headers, params={"page": 1})
    ok(orders, "page", "pagesize", "total_count", "more", "orders")
    generated = await client.post(
        "/api/coupon/generate",
        headers=r.key_headers,
        params={"gencode": f"BDAY{r.uid.removeprefix('resto-')}"},
    )
    ok(generated, "coupon")


# --- restuid ------------------------------------------------------------------------------------


async def test_restuid_of_own_restaurant_is_accepted(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        CATEGORIES, headers=r.key_headers, params={"page": 1, "restuid": r.uid}
    )
    ok(response, "page", "pagesize", "total_count", "more", "categories")


async def test_restuid_of_another_restaurant_is_403_unauthorized(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_restaurant(state)
    theirs = await make_restaurant(state)
    response = await client.get(
        CATEGORIES, headers=mine.client_headers, params={"page": 1, "restuid": theirs.uid}
    )
    failed(response, "UNAUTHORIZED", status=403, names="restuid")


async def test_restuid_of_no_restaurant_is_401_restaurant_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        CATEGORIES, headers=r.key_headers, params={"page": 1, "restuid": f"{r.uid}-nowhere"}
    )
    failed(response, "RESTAURANT_NOT_FOUND", status=401, names="restuid")


# --- authentication before the body -------------------------------------------------------------


async def test_bad_credentials_with_malformed_body_is_401(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(
        "/api/order/create",
        content=b"{not json",
        headers={"X-Api-Key": r.api_key + "x", "Content-Type": "application/json"},
    )
    failed(response, "INVALID_KEY", status=401)


async def test_bad_client_secret_with_malformed_menu_import_is_401(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(
        "/api/menu/import",
        content=b"[1, 2",
        headers={
            "X-Client-Id": r.client_id,
            "X-Client-Secret": "wrong-secret-0123456789",
            "Content-Type": "application/json",
        },
    )
    failed(response, "INVALID_AUTH", status=401)


async def test_missing_scope_with_malformed_body_is_403(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    headers = await _bearer(client, r, scope="read:menu")
    response = await client.post(
        "/api/order/create",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    failed(response, "INSUFFICIENT_SCOPE", status=403, names="write:orders")


async def test_good_credentials_with_malformed_body_is_a_200_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(
        "/api/order/create",
        content=b"{not json",
        headers={**r.client_headers, "Content-Type": "application/json"},
    )
    failed(response, "VALIDATION_ERROR", names="body")


# --- secrets at rest ----------------------------------------------------------------------------


async def test_api_key_is_stored_only_as_its_hash(state: AppState) -> None:
    r = await make_restaurant(state)
    async with state.transaction() as session:
        rows = (
            (
                await session.execute(
                    text(
                        "SELECT k.* FROM api_keys k "
                        "JOIN organizations o ON o.id = k.organization_id WHERE o.key = :uid"
                    ),
                    {"uid": r.uid},
                )
            )
            .mappings()
            .all()
        )
    assert len(rows) == 1
    assert rows[0]["key_hash"] == hashlib.sha256(r.api_key.encode()).hexdigest()
    assert not any(r.api_key in str(value) for value in rows[0].values())


async def test_client_secret_is_stored_only_as_an_argon2_hash(state: AppState) -> None:
    r = await make_restaurant(state)
    async with state.transaction() as session:
        row = (
            (
                await session.execute(
                    text("SELECT * FROM api_clients WHERE client_id = :id"), {"id": r.client_id}
                )
            )
            .mappings()
            .one()
        )
    assert str(row["secret_hash"]).startswith("$argon2id$")
    assert not any(r.client_secret in str(value) for value in row.values())


async def test_access_token_is_stored_only_as_its_hash(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    issued = await client.post(TOKEN, data=_form(r))
    token = issued.json()["access_token"]
    async with state.transaction() as session:
        rows = (
            (
                await session.execute(
                    text(
                        "SELECT t.* FROM client_tokens t JOIN api_clients c ON c.id = t.client_id "
                        "WHERE c.client_id = :id"
                    ),
                    {"id": r.client_id},
                )
            )
            .mappings()
            .all()
        )
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for value in rows[0].values())


# --- tenancy ------------------------------------------------------------------------------------


async def test_another_restaurants_order_is_not_readable(
    client: httpx.AsyncClient, state: AppState
) -> None:
    owner = await make_restaurant(state, places=MILANO_PLACES)
    other = await make_restaurant(state)
    order = await place_pickup_order(client, owner)
    mine = await client.get(
        "/api/orders/get", headers=owner.key_headers, params={"uid": order["uid"]}
    )
    assert ok(mine, "order")["order"]["uid"] == order["uid"]
    for headers in (other.key_headers, other.client_headers):
        response = await client.get(
            "/api/orders/get", headers=headers, params={"uid": order["uid"]}
        )
        failed(response, "NOT_FOUND")
    listed = await client.get("/api/orders/list", headers=other.key_headers, params={"page": 1})
    assert ok(listed, "page", "pagesize", "total_count", "more", "orders")["orders"] == []


async def test_another_restaurants_order_cannot_be_confirmed(
    client: httpx.AsyncClient, state: AppState
) -> None:
    owner = await make_restaurant(state, places=MILANO_PLACES)
    other = await make_restaurant(state)
    order = await place_pickup_order(client, owner)
    response = await client.post(
        "/api/order/confirm",
        headers=other.key_headers,
        params={"uid": order["uid"], "token": order["token"]},
    )
    failed(response, "NOT_FOUND")
    closed = await client.post(
        "/api/order/close",
        headers=other.key_headers,
        params={"uid": order["uid"], "token": order["token"]},
    )
    failed(closed, "NOT_FOUND")
    got = await client.get(
        "/api/orders/get", headers=owner.key_headers, params={"uid": order["uid"]}
    )
    confirmation = ok(got, "order")["order"]["confirmation"]
    assert confirmation["confirmed"] is False
    assert confirmation["closed"] is False


async def test_api_disabled_restaurant_answers_api_disabled_403(
    client: httpx.AsyncClient, state: AppState
) -> None:
    restaurant = await make_restaurant(state, api_enabled=False)
    for headers in (restaurant.key_headers, restaurant.client_headers):
        answer = await client.get("/api/menu/categories", headers=headers, params={"page": 1})
        assert answer.status_code == 403
        assert answer.json()["success"] is False
        assert answer.json()["error"] == "API_DISABLED"


async def test_a_burst_with_a_secret_not_yet_verified_runs_argon2_once(
    client: httpx.AsyncClient, state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen requests reaching a worker together with a client secret it has not checked yet
    wait for one argon2 check, instead of running sixteen (each most of a second and 64 MiB)."""
    from orderdesk.core.organizations import clients

    r = await make_restaurant(state)
    checks = 0
    original = clients.password_matches

    def counting(stored_hash: str, password: str) -> bool:
        nonlocal checks
        checks += 1
        return original(stored_hash, password)

    monkeypatch.setattr(clients, "password_matches", counting)
    answers = await asyncio.gather(
        *(client.get("/api/account/subrestaurants", headers=r.client_headers) for _ in range(16))
    )
    assert [a.status_code for a in answers] == [200] * 16
    assert checks == 1
    wrong = {**r.client_headers, "X-Client-Secret": "not-the-secret-at-all"}
    answers = await asyncio.gather(
        *(client.get("/api/account/subrestaurants", headers=wrong) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [401] * 4  # a shared failed check fails all
