"""Partner authentication: ``/auth/authorize``, the ``token`` header, revocation, throttling."""

from __future__ import annotations

import hashlib
import secrets

import httpx
from sqlalchemy import text
from tests.conftest import FakeClock
from tests.dialects.partner.envelope import (
    assert_unauthorized,
    error_body,
    ok_data,
    validation_errors,
)
from tests.factories import login, make_partner

from orderdesk.http.state import AppState

AUTHORIZE = "/partner/auth/authorize"
PROTECTED = "/partner/store/list"


async def test_authorize_returns_token_and_user(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    response = await client.post(
        AUTHORIZE, json={"login": partner.login, "password": partner.password}
    )
    data = ok_data(response)
    assert set(data) == {"token", "user"}
    assert isinstance(data["token"], str)
    assert data["user"] == {
        "login": partner.login,
        "partner": partner.name,
        "partner_title": partner.document["partners"][0]["title"],
    }


async def test_issued_token_opens_a_protected_endpoint(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    stores = ok_data(await client.get(PROTECTED, headers=headers))
    assert [s["store_id"] for s in stores] == partner.stores


async def test_token_is_long_and_stored_only_as_a_hash(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    token = (await login(client, partner))["token"]
    assert len(token) >= 43  # 256 random bits, URL-safe base64
    digest = hashlib.sha256(token.encode()).hexdigest()
    async with state.transaction() as session:
        rows = (await session.execute(text("SELECT * FROM api_tokens"))).mappings().all()
    assert [row["token_hash"] for row in rows].count(digest) == 1
    for row in rows:
        assert all(token not in str(value) for value in row.values()), row


async def test_each_login_issues_a_different_token(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    first = await login(client, partner)
    second = await login(client, partner)
    assert first != second
    ok_data(await client.get(PROTECTED, headers=first))
    ok_data(await client.get(PROTECTED, headers=second))


async def test_wrong_password_is_401(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    response = await client.post(
        AUTHORIZE, json={"login": partner.login, "password": partner.password + "x"}
    )
    assert_unauthorized(response)


async def test_unknown_login_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        AUTHORIZE, json={"login": f"nobody-{secrets.token_hex(4)}", "password": "whatever-password"}
    )
    assert_unauthorized(response)


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get(PROTECTED))


async def test_empty_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get(PROTECTED, headers={"token": ""}))


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get(PROTECTED, headers={"token": secrets.token_urlsafe(32)}))


async def test_token_in_authorization_header_is_not_accepted(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    token = (await login(client, partner))["token"]
    response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert_unauthorized(response)


async def test_revoked_token_is_401(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    assert ok_data(await client.post("/partner/auth/revoke", headers=headers)) == {"revoked": True}
    assert_unauthorized(await client.get(PROTECTED, headers=headers))


async def test_revoking_one_token_keeps_the_others(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    revoked = await login(client, partner)
    kept = await login(client, partner)
    ok_data(await client.post("/partner/auth/revoke", headers=revoked))
    assert_unauthorized(await client.get(PROTECTED, headers=revoked))
    ok_data(await client.get(PROTECTED, headers=kept))


async def test_revoke_without_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.post("/partner/auth/revoke"))


async def test_token_expires_after_thirty_days(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    clock.advance(days=29)
    ok_data(await client.get(PROTECTED, headers=headers))
    clock.advance(days=2)
    assert_unauthorized(await client.get(PROTECTED, headers=headers))


async def test_unauthenticated_request_with_malformed_body_is_401_not_422(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/partner/order/create", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_unauthorized(response)


async def test_unauthenticated_request_with_invalid_body_is_401_not_422(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/partner/order/create", json={"customer": 5}, headers={"token": secrets.token_urlsafe(32)}
    )
    assert_unauthorized(response)


async def test_malformed_json_on_authorize_is_422_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        AUTHORIZE, content=b'{"login": "a",', headers={"Content-Type": "application/json"}
    )
    errors = validation_errors(response)
    assert set(errors) == {"body"}


async def test_empty_body_on_authorize_is_422_body(client: httpx.AsyncClient) -> None:
    errors = validation_errors(await client.post(AUTHORIZE, content=b""))
    assert errors["body"]["type"] == "required"


async def test_missing_login_is_422_required(client: httpx.AsyncClient) -> None:
    errors = validation_errors(await client.post(AUTHORIZE, json={"password": "secret-pass"}))
    assert set(errors) == {"login"}
    assert errors["login"]["type"] == "required"


async def test_missing_login_and_password_are_both_reported(client: httpx.AsyncClient) -> None:
    errors = validation_errors(await client.post(AUTHORIZE, json={}))
    assert set(errors) == {"login", "password"}
    assert {e["type"] for e in errors.values()} == {"required"}


async def test_non_string_password_is_422_type(client: httpx.AsyncClient) -> None:
    errors = validation_errors(
        await client.post(AUTHORIZE, json={"login": "someone", "password": 12345678})
    )
    assert set(errors) == {"password"}
    assert errors["password"]["type"] == "type"


async def test_sixth_login_after_five_failures_is_429_even_with_right_password(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    wrong = {"login": partner.login, "password": "not the password"}
    for _ in range(5):
        assert_unauthorized(await client.post(AUTHORIZE, json=wrong))
    response = await client.post(
        AUTHORIZE, json={"login": partner.login, "password": partner.password}
    )
    body = error_body(response, 429)
    assert body["data"] is None
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= state.settings.login_window_seconds


async def test_login_works_again_after_the_throttle_window(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    wrong = {"login": partner.login, "password": "not the password"}
    right = {"login": partner.login, "password": partner.password}
    for _ in range(5):
        assert_unauthorized(await client.post(AUTHORIZE, json=wrong))
    error_body(await client.post(AUTHORIZE, json=right), 429)
    clock.advance(seconds=901)
    data = ok_data(await client.post(AUTHORIZE, json=right))
    ok_data(await client.get(PROTECTED, headers={"token": data["token"]}))


async def test_failures_older_than_the_window_do_not_count(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    wrong = {"login": partner.login, "password": "not the password"}
    for _ in range(4):
        assert_unauthorized(await client.post(AUTHORIZE, json=wrong))
    clock.advance(seconds=901)
    for _ in range(4):
        assert_unauthorized(await client.post(AUTHORIZE, json=wrong))
    await login(client, partner)


async def test_unknown_login_is_throttled_too(client: httpx.AsyncClient, clock: FakeClock) -> None:
    attempt = {"login": f"nobody-{secrets.token_hex(4)}", "password": "whatever-password"}
    for _ in range(5):
        assert_unauthorized(await client.post(AUTHORIZE, json=attempt))
    error_body(await client.post(AUTHORIZE, json=attempt), 429)


async def test_throttling_one_login_leaves_others_alone(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    victim = await make_partner(state)
    other = await make_partner(state)
    for _ in range(5):
        await client.post(AUTHORIZE, json={"login": victim.login, "password": "nope-nope"})
    error_body(
        await client.post(AUTHORIZE, json={"login": victim.login, "password": victim.password}), 429
    )
    await login(client, other)


async def test_successful_login_resets_the_failure_count(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    wrong = {"login": partner.login, "password": "not the password"}
    for _ in range(4):
        assert_unauthorized(await client.post(AUTHORIZE, json=wrong))
    await login(client, partner)
    for _ in range(4):
        assert_unauthorized(await client.post(AUTHORIZE, json=wrong))
    await login(client, partner)


async def test_v1_prefix_alias_authorizes_and_serves(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    data = ok_data(
        await client.post(
            "/partner/v1/auth/authorize",
            json={"login": partner.login, "password": partner.password},
        )
    )
    stores = ok_data(await client.get("/partner/v1/store/list", headers={"token": data["token"]}))
    assert [s["store_id"] for s in stores] == partner.stores
    assert_unauthorized(await client.get("/partner/v1/store/list"))
