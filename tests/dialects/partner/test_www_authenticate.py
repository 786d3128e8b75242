"""The partner 401's ``WWW-Authenticate`` header: what to fix, while the body stays the same."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
from tests.conftest import FakeClock
from tests.dialects.partner.envelope import assert_unauthorized, ok_data
from tests.factories import login, make_partner

from orderdesk.app import create_app
from orderdesk.http.state import AppState
from orderdesk.settings import Settings

AUTHORIZE = "/partner/auth/authorize"
PROTECTED = "/partner/store/list"
INVALID_TOKEN = (
    'Token realm="partner", error="invalid_token", '
    'error_description="the token is unknown, expired or revoked; log in again"'
)
WRONG_LOGIN = (
    'Token realm="partner", error="invalid_grant", error_description="wrong login or password"'
)


def challenge(response: httpx.Response) -> str:
    """The header of a 401 whose body is exactly the documented one."""
    assert_unauthorized(response)
    return response.headers["www-authenticate"]


async def test_no_token_names_only_the_scheme_and_realm(client: httpx.AsyncClient) -> None:
    assert challenge(await client.get(PROTECTED)) == 'Token realm="partner"'
    assert challenge(await client.get(PROTECTED, headers={"token": ""})) == 'Token realm="partner"'


async def test_unknown_token_is_invalid_token(client: httpx.AsyncClient) -> None:
    response = await client.get(PROTECTED, headers={"token": secrets.token_urlsafe(32)})
    assert challenge(response) == INVALID_TOKEN


async def test_revoked_and_expired_tokens_get_the_same_answer_as_unknown_ones(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    revoked = await login(client, partner)
    ok_data(await client.post("/partner/auth/revoke", headers=revoked))
    assert challenge(await client.get(PROTECTED, headers=revoked)) == INVALID_TOKEN
    expired = await login(client, partner)
    clock.advance(days=31)
    assert challenge(await client.get(PROTECTED, headers=expired)) == INVALID_TOKEN


async def test_bearer_header_is_told_where_the_token_goes(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    token = (await login(client, partner))["token"]
    response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert challenge(response) == (
        'Token realm="partner", error="invalid_request", error_description="the token goes in '
        'the header named token, not in Authorization: Bearer"'
    )


async def test_wrong_password_and_unknown_login_are_told_apart_by_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    wrong_password = await client.post(
        AUTHORIZE, json={"login": partner.login, "password": partner.password + "x"}
    )
    unknown_login = await client.post(
        AUTHORIZE, json={"login": f"nobody-{secrets.token_hex(4)}", "password": partner.password}
    )
    assert challenge(wrong_password) == challenge(unknown_login) == WRONG_LOGIN


def test_every_partner_401_declares_the_header(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", media_dir=tmp_path),
        background=False,
    )
    answers = [
        operation["responses"]["401"]
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/partner/")
        for operation in item.values()
        if "401" in operation.get("responses", {})
    ]
    assert len(answers) >= 10
    for answer in answers:
        header = answer["headers"]["WWW-Authenticate"]
        assert header["schema"] == {"type": "string"}
        assert 'error="invalid_token"' in header["description"]
