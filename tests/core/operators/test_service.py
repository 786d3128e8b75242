"""The operator service: creating operators, signing them in and out, their sessions' ends, the
sign-in throttle, and what a staff operator may see.

Each step runs in its own committed transaction, as one console request does; every test uses
operators of its own (unique emails) on a database shared by the module, which holds a partner
and a restaurant applied from a setup document. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import fresh_database

from orderdesk.background import Background
from orderdesk.core.errors import NotFound, Throttled, ValidationFailed
from orderdesk.core.operators.models import OperatorSession
from orderdesk.core.operators.service import (
    ActiveSession,
    OperatorView,
    SignedIn,
    active_session,
    create_operator,
    disable_operator,
    list_operators,
    record_visit,
    sign_in,
    sign_out,
)
from orderdesk.core.organizations.models import Organization
from orderdesk.core.organizations.service import authenticate, token_digest
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction
from orderdesk.setup.apply import apply_file

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")

PASSWORD = "operator password 1"
# A partner API login spelled exactly like an operator's email: their throttles stay apart.
SHARED = "shared@opsdesk.example"
API_PASSWORD = "partner api password"
MAX_FAILURES = 3
WINDOW = timedelta(minutes=15)
TTL = timedelta(hours=2)
IDLE = timedelta(minutes=30)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

DOCUMENT = {
    "version": 1,
    "partners": [
        {
            "name": "opspartner",
            "title": "Ops Partner",
            "users": [{"login": SHARED, "password": API_PASSWORD}],
            "stores": [
                {
                    "id": "opspartner-1",
                    "title": "One",
                    "timezone": "Europe/Riga",
                    "masters": {"0712": 1, "1217": 1, "1721": 1},
                }
            ],
        }
    ],
    "restaurants": [
        {
            "uid": "opsrestaurant",
            "name": "Ops Restaurant",
            "timezone": "Europe/Rome",
            "language": "it",
            "currency": "EUR",
            "subrestaurants": [
                {
                    "uid": "opsrestaurant-1",
                    "name": "Centro",
                    "address": "Via Roma 1",
                    "city": "Milano",
                    "country": "IT",
                    "lat": 45.46,
                    "lng": 9.19,
                    "opening_hours": {"mon": [["11:00", "22:00"]]},
                }
            ],
        }
    ],
}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Sessions]:
    async with fresh_database(request.param, tmp_path_factory.mktemp("operators")) as url:
        await apply_file(url, DOCUMENT)
        engine = create_engine(url)
        try:
            yield create_sessionmaker(engine)
        finally:
            await engine.dispose()


async def run(sessions: Sessions, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work`` in one committed transaction, like one console request."""
    async with transaction(sessions) as session:
        return await work(session)


def new_email() -> str:
    return f"op-{secrets.token_hex(4)}@opsdesk.example"


async def organization_id(sessions: Sessions, key: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(Organization.id).where(Organization.key == key))
    assert found is not None
    return found


async def create(
    sessions: Sessions,
    email: str,
    *,
    role: str = "admin",
    organization: str | None = None,
    password: str = PASSWORD,
    name: str | None = None,
) -> OperatorView:
    return await run(
        sessions,
        lambda s: create_operator(
            s,
            email=email,
            password=password,
            role=role,
            organization=organization,
            name=name,
            now=T0,
        ),
    )


async def attempt(
    sessions: Sessions, email: str, password: str = PASSWORD, *, at: datetime = T0
) -> SignedIn | None:
    return await run(
        sessions,
        lambda s: sign_in(
            s, email, password, now=at, ttl=TTL, max_failures=MAX_FAILURES, window=WINDOW
        ),
    )


async def current(sessions: Sessions, token: str, at: datetime) -> ActiveSession | None:
    """The session as a console request at ``at`` finds it, recording the visit when due."""

    async def visit(s: AsyncSession) -> ActiveSession | None:
        found = await active_session(s, token, now=at, idle=IDLE)
        if found is not None and found.visit_due(at):
            await record_visit(s, found, at)
        return found

    return await run(sessions, visit)


async def signed_in(sessions: Sessions, email: str, *, at: datetime = T0) -> SignedIn:
    signed = await attempt(sessions, email, at=at)
    assert signed is not None
    return signed


# ---------------------------------------------------------------------------------------------
# Creating


async def test_create_normalizes_the_email_and_binds_staff_to_their_organization(
    sessions: Sessions,
) -> None:
    local = f"Op-{secrets.token_hex(4)}"
    staff = await create(
        sessions, f" {local}@OpsDesk.example ", role="staff", organization="opsrestaurant"
    )
    assert staff.email == f"{local.lower()}@opsdesk.example"
    assert staff.name == local.lower()
    assert staff.role == "staff"
    assert staff.organization_id == await organization_id(sessions, "opsrestaurant")
    assert staff.actor == f"operator:{staff.email}"

    admin = await create(sessions, new_email(), role="dispatcher", name="Dora Dispatch")
    assert (admin.name, admin.organization_id) == ("Dora Dispatch", None)
    listed = {row.email: row for row in await run(sessions, list_operators)}
    assert listed[staff.email].organization == "opsrestaurant"
    assert listed[admin.email].organization is None


@pytest.mark.parametrize(
    ("email", "role", "organization", "password", "expected"),
    [
        ("no-at-sign", "admin", None, PASSWORD, ("email", "format")),
        (None, "root", None, PASSWORD, ("role", "enum")),
        (None, "admin", None, "short pw", ("password", "min")),
        (None, "staff", None, PASSWORD, ("org", "required")),
        (None, "admin", "opspartner", PASSWORD, ("org", "enum")),
        (None, "staff", "no-such-org", PASSWORD, ("org", "not_found")),
    ],
    ids=["email", "role", "short-password", "staff-without-org", "admin-with-org", "unknown-org"],
)
async def test_create_refuses_bad_input_and_creates_nothing(
    sessions: Sessions,
    email: str | None,
    role: str,
    organization: str | None,
    password: str,
    expected: tuple[str, str],
) -> None:
    address = email or new_email()
    with pytest.raises(ValidationFailed) as caught:
        await create(sessions, address, role=role, organization=organization, password=password)
    assert [(e.path, e.type) for e in caught.value.errors] == [expected]
    assert address not in {row.email for row in await run(sessions, list_operators)}


async def test_create_refuses_a_taken_email_whatever_its_case(sessions: Sessions) -> None:
    email = new_email()
    await create(sessions, email)
    with pytest.raises(ValidationFailed) as caught:
        await create(sessions, email.upper(), role="dispatcher")
    assert [(e.path, e.type) for e in caught.value.errors] == [("email", "conflict")]


async def test_create_lists_every_problem_at_once(sessions: Sessions) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await create(sessions, "nope", role="root", organization="nowhere", password="x")
    assert [e.path for e in caught.value.errors] == ["email", "role", "password", "org"]


# ---------------------------------------------------------------------------------------------
# Signing in and out


async def test_sign_in_opens_a_session_the_token_finds(sessions: Sessions) -> None:
    email = new_email()
    created = await create(sessions, email)
    signed = await attempt(sessions, email.upper())
    assert signed is not None
    assert signed.operator == created
    assert signed.expires_at == T0 + TTL
    assert signed.token != signed.csrf_token
    found = await current(sessions, signed.token, T0 + timedelta(minutes=1))
    assert found is not None
    assert (found.operator, found.csrf_token) == (created, signed.csrf_token)
    assert await current(sessions, signed.token + "x", T0) is None


async def test_wrong_password_and_unknown_email_open_nothing(sessions: Sessions) -> None:
    email = new_email()
    await create(sessions, email)
    assert await attempt(sessions, email, PASSWORD + "!") is None
    assert await attempt(sessions, new_email()) is None
    assert await attempt(sessions, email, "") is None


async def test_disabled_operator_cannot_sign_in_and_their_sessions_end(
    sessions: Sessions,
) -> None:
    email, other = new_email(), new_email()
    await create(sessions, email)
    await create(sessions, other)
    before = await signed_in(sessions, email)
    kept = await signed_in(sessions, other)
    assert await run(sessions, lambda s: disable_operator(s, email, now=T0)) is True
    assert await current(sessions, before.token, T0 + timedelta(minutes=1)) is None
    assert await attempt(sessions, email, at=T0 + timedelta(minutes=2)) is None
    assert await current(sessions, kept.token, T0 + timedelta(minutes=1)) is not None
    # Disabling again keeps the first date.
    later = T0 + timedelta(days=1)
    assert await run(sessions, lambda s: disable_operator(s, email, now=later)) is False
    listed = {row.email: row for row in await run(sessions, list_operators)}
    assert listed[email].disabled_at == T0


async def test_disabling_an_unknown_operator_is_not_found(sessions: Sessions) -> None:
    with pytest.raises(NotFound):
        await run(sessions, lambda s: disable_operator(s, new_email(), now=T0))


async def test_sign_out_ends_that_session_only(sessions: Sessions) -> None:
    email = new_email()
    await create(sessions, email)
    first = await signed_in(sessions, email)
    second = await signed_in(sessions, email)
    await run(sessions, lambda s: sign_out(s, first.token))
    soon = T0 + timedelta(minutes=1)
    assert await current(sessions, first.token, soon) is None
    assert await current(sessions, second.token, soon) is not None


# ---------------------------------------------------------------------------------------------
# Ends of a session


async def test_a_session_used_regularly_still_ends_at_its_fixed_end(sessions: Sessions) -> None:
    email = new_email()
    await create(sessions, email)
    signed = await signed_in(sessions, email)
    # Every visit is less than the idle limit after the one before it.
    for minutes in (20, 45, 70, 95, 119):
        visit = T0 + timedelta(minutes=minutes)
        assert await current(sessions, signed.token, visit) is not None, minutes
    assert await current(sessions, signed.token, T0 + TTL) is None
    assert await current(sessions, signed.token, T0 + TTL - timedelta(seconds=1)) is not None


async def test_a_session_left_idle_ends(sessions: Sessions) -> None:
    email = new_email()
    await create(sessions, email)
    idle = await signed_in(sessions, email)
    assert await current(sessions, idle.token, T0 + IDLE) is None
    # Idle time counts from the last visit, not from the sign-in.
    visited = await signed_in(sessions, email)
    assert await current(sessions, visited.token, T0 + IDLE - timedelta(minutes=1)) is not None
    last_visit = T0 + IDLE + timedelta(minutes=20)
    assert await current(sessions, visited.token, last_visit) is not None
    assert await current(sessions, visited.token, last_visit + IDLE) is None


# ---------------------------------------------------------------------------------------------
# The throttle


async def fail(sessions: Sessions, email: str, times: int, *, at: datetime = T0) -> None:
    for _ in range(times):
        assert await attempt(sessions, email, "wrong password!", at=at) is None


async def test_throttle_engages_after_max_failures_even_for_the_right_password(
    sessions: Sessions,
) -> None:
    email = new_email()
    await create(sessions, email)
    await fail(sessions, email, MAX_FAILURES - 1)
    # One failure short of the limit: the right password still works, and clears the count.
    assert await attempt(sessions, email) is not None
    await fail(sessions, email, MAX_FAILURES)
    with pytest.raises(Throttled) as caught:
        await attempt(sessions, email, at=T0 + timedelta(minutes=1))
    assert 0 < caught.value.retry_after <= WINDOW.total_seconds()
    # The window over, the right password works again.
    assert await attempt(sessions, email, at=T0 + WINDOW + timedelta(seconds=1)) is not None


async def test_throttle_counts_unknown_emails_too(sessions: Sessions) -> None:
    ghost = new_email()
    await fail(sessions, ghost, MAX_FAILURES)
    with pytest.raises(Throttled):
        await attempt(sessions, ghost)


async def test_throttle_is_per_operator(sessions: Sessions) -> None:
    locked, other = new_email(), new_email()
    await create(sessions, locked)
    await create(sessions, other)
    await fail(sessions, locked, MAX_FAILURES)
    with pytest.raises(Throttled):
        await attempt(sessions, locked)
    assert await attempt(sessions, other) is not None


async def test_operator_and_partner_api_login_of_the_same_name_are_throttled_apart(
    sessions: Sessions,
) -> None:
    async def api_login(password: str, at: datetime) -> bool:
        issued = await run(
            sessions,
            lambda s: authenticate(
                s,
                SHARED,
                password,
                now=at,
                token_ttl=TTL,
                max_failures=MAX_FAILURES,
                window=WINDOW,
            ),
        )
        return issued is not None

    await create(sessions, SHARED)
    # The operator spends their budget: the API login of the same name is untouched.
    await fail(sessions, SHARED, MAX_FAILURES)
    with pytest.raises(Throttled):
        await attempt(sessions, SHARED)
    assert await api_login(API_PASSWORD, T0)
    # And the other way round, in a fresh window.
    later = T0 + WINDOW + timedelta(minutes=1)
    for _ in range(MAX_FAILURES):
        assert not await api_login("wrong password!", later)
    with pytest.raises(Throttled):
        await api_login(API_PASSWORD, later)
    assert await attempt(sessions, SHARED, at=later) is not None


# ---------------------------------------------------------------------------------------------
# What each role sees


async def test_staff_see_their_organization_only(sessions: Sessions) -> None:
    restaurant = await organization_id(sessions, "opsrestaurant")
    partner = await organization_id(sessions, "opspartner")
    staff = await create(sessions, new_email(), role="staff", organization="opsrestaurant")
    partner_staff = await create(sessions, new_email(), role="staff", organization="opspartner")
    assert staff.sees(restaurant) and not staff.sees(partner)
    assert partner_staff.sees(partner) and not partner_staff.sees(restaurant)
    for role in ("admin", "dispatcher"):
        everyone = await create(sessions, new_email(), role=role)
        assert everyone.sees(restaurant) and everyone.sees(partner)
    # The view a session gives back sees the same.
    signed = await signed_in(sessions, staff.email)
    found = await current(sessions, signed.token, T0)
    assert found is not None
    assert found.operator.sees(restaurant) and not found.operator.sees(partner)


async def test_the_hourly_purge_forgets_ended_sessions_only(sessions: Sessions) -> None:
    email = new_email()
    await create(sessions, email)
    ended = await signed_in(sessions, email)
    later = T0 + TTL + timedelta(minutes=5)
    open_one = await signed_in(sessions, email, at=later - timedelta(minutes=1))

    async def stored(token: str) -> bool:
        digest = token_digest(token)
        found = await run(
            sessions,
            lambda s: s.scalar(
                select(OperatorSession.id).where(OperatorSession.token_hash == digest)
            ),
        )
        return found is not None

    await Background(sessions, lambda: later).purge()
    assert not await stored(ended.token)
    assert await stored(open_one.token)
    assert await current(sessions, open_one.token, later) is not None
