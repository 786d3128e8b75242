"""Logins, tokens and the organization a request acts for.

Guarantees: passwords are stored as argon2id hashes; tokens are 256-bit random strings of which
only the SHA-256 is stored; a token resolves only while it is neither expired nor revoked; a login
that failed ``max_failures`` times within the window is refused (``Throttled``) before its password
is even checked, in every worker, because the counter lives in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.errors import Throttled
from orderdesk.core.organizations.models import (
    ApiToken,
    ApiUser,
    Location,
    LoginThrottle,
    Organization,
)
from orderdesk.db.cache import cached
from orderdesk.db.upsert import insert_for

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
DUMMY_HASH = _hasher.hash("orderdesk-timing-equaliser")


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the hasher for new hashes (existing hashes carry their own parameters).

    For test suites only, which create thousands of logins: ``argon2.profiles.CHEAPEST`` keeps
    the algorithm and format and drops the cost.
    """
    global _hasher, DUMMY_HASH
    _hasher = hasher
    DUMMY_HASH = hasher.hash("orderdesk-timing-equaliser")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for. Every data access is scoped by ``organization_id``."""

    organization_id: int
    organization_kind: str
    organization_key: str
    organization_title: str
    user_id: int | None
    login: str | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    principal: Principal
    expires_at: datetime


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def check_login_throttle(
    session: AsyncSession, login: str, now: datetime, max_failures: int, window: timedelta
) -> None:
    row = await session.get(LoginThrottle, login)
    if row is None or row.failures < max_failures:
        return
    reopens = row.window_started_at + window
    if reopens > now:
        wait = max(1, int((reopens - now).total_seconds()))
        raise Throttled("Too many failed logins", retry_after=wait)


async def record_login_failure(
    session: AsyncSession, login: str, now: datetime, window: timedelta
) -> None:
    stmt = insert_for(session, LoginThrottle).values(login=login, failures=1, window_started_at=now)
    expired = LoginThrottle.window_started_at < now - window

    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginThrottle.login],
        set_={
            "failures": case((expired, 1), else_=LoginThrottle.failures + 1),
            "window_started_at": case((expired, now), else_=LoginThrottle.window_started_at),
        },
    )
    await session.execute(stmt)


async def authenticate(
    session: AsyncSession,
    login: str,
    password: str,
    *,
    now: datetime,
    token_ttl: timedelta,
    max_failures: int,
    window: timedelta,
) -> IssuedToken | None:
    """Check a login and issue a token; ``None`` when the credentials are wrong.

    A failure is recorded in ``session``: the caller must commit it even though the login failed,
    otherwise throttling would never engage.
    """
    await check_login_throttle(session, login, now, max_failures, window)
    row = (
        await session.execute(
            select(ApiUser, Organization)
            .join(Organization, Organization.id == ApiUser.organization_id)
            .where(ApiUser.login == login)
        )
    ).first()
    stored = row[0].password_hash if row else DUMMY_HASH
    ok = await asyncio.to_thread(password_matches, stored, password)
    if row is None or not ok:
        await record_login_failure(session, login, now, window)
        return None
    user, org = row
    await session.execute(delete(LoginThrottle).where(LoginThrottle.login == login))
    token = secrets.token_urlsafe(32)
    expires = now + token_ttl
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=expires,
            revoked_at=None,
        )
    )
    principal = Principal(org.id, org.kind, org.key, org.title, user.id, user.login)
    return IssuedToken(token, principal, expires)


async def resolve_token(session: AsyncSession, token: str, *, now: datetime) -> Principal | None:
    """The principal of a live token: one indexed query, or none while the worker's cache holds
    it (a revocation empties every worker's cache; expiry is checked here, at every use)."""
    if not token or len(token) > 200:
        return None
    digest = token_digest(token)

    async def load() -> tuple[Principal, datetime] | None:
        row = (
            await session.execute(
                select(
                    ApiUser.id,
                    ApiUser.login,
                    Organization.id,
                    Organization.kind,
                    Organization.key,
                    Organization.title,
                    ApiToken.expires_at,
                )
                .select_from(ApiToken)
                .join(ApiUser, ApiUser.id == ApiToken.user_id)
                .join(Organization, Organization.id == ApiUser.organization_id)
                .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
            )
        ).first()
        if row is None:
            return None
        user_id, login, org_id, org_kind, org_key, org_title, expires_at = row
        return Principal(org_id, org_kind, org_key, org_title, user_id, login), expires_at

    found = await cached(session, ("partner-token", digest), load)
    if found is None or found[1] <= now:
        return None
    return found[0]


async def revoke_token(session: AsyncSession, token: str, *, now: datetime) -> bool:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get_location_by_key(
    session: AsyncSession, key: str, *, kind: str | None = None
) -> Location | None:
    """The location ``key``; with ``kind``, only if its organization is of that kind (lookups
    without credentials must not answer for the other dialect's locations)."""
    stmt = select(Location).where(Location.key == key)
    if kind is not None:
        stmt = stmt.join(Organization, Organization.id == Location.organization_id).where(
            Organization.kind == kind
        )

    async def load() -> Location | None:
        return (await session.execute(stmt)).scalar_one_or_none()

    return await cached(session, ("location", key, kind), load)


async def list_locations(session: AsyncSession, organization_id: int) -> list[Location]:
    rows = await session.execute(
        select(Location).where(Location.organization_id == organization_id).order_by(Location.key)
    )
    return list(rows.scalars())


async def organization_exists(session: AsyncSession, *, kind: str, key: str) -> bool:
    """Whether an organization of ``kind`` is known by ``key``; lets a dialect tell a caller
    naming someone else's data apart from one naming nobody."""
    found = await session.scalar(
        select(Organization.id).where(Organization.kind == kind, Organization.key == key)
    )
    return found is not None
