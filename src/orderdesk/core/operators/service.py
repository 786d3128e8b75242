"""Operators: creating them, signing them in and out, and what each one may see.

Guarantees, like the API logins (:mod:`orderdesk.core.organizations.service`): passwords are
argon2id hashes; a session token is 256 random bits of which only the SHA-256 is stored; a
sign-in that failed ``max_failures`` times within the window is refused before its password is
checked, in every worker (the counter is the same database table, under an ``operator:`` key so
an operator and an API login of the same name never share a budget). A session ends at its
absolute expiry, when it has been idle too long, at sign-out, or when its operator is disabled.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.errors import FieldError, NotFound, ValidationFailed
from orderdesk.core.operators.models import ROLES, Operator, OperatorSession
from orderdesk.core.organizations import service as organizations
from orderdesk.core.organizations.models import LoginThrottle, Organization
from orderdesk.core.organizations.service import (
    check_login_throttle,
    password_matches,
    record_login_failure,
    token_digest,
)

MIN_PASSWORD_LENGTH = 10
# A session's activity is written back at most this often, not on every page load.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class OperatorView:
    """Who is signed in, as the console needs it on every request (no ORM instance kept)."""

    id: int
    email: str
    name: str
    role: str
    organization_id: int | None

    def sees(self, organization_id: int) -> bool:
        """Staff see their own organization only; dispatchers and admins see every one."""
        return self.organization_id is None or self.organization_id == organization_id

    @property
    def actor(self) -> str:
        """How the operator's actions are recorded in an order's events."""
        return f"operator:{self.email}"


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    csrf_token: str
    expires_at: datetime
    operator: OperatorView


@dataclass(frozen=True, slots=True)
class ActiveSession:
    id: int
    operator: OperatorView
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime

    def visit_due(self, now: datetime) -> bool:
        """Whether a request now should be written as the session's last visit: at most once a
        minute, so that pages and the board's polling are reads, not writes."""
        return now - self.last_seen_at >= _TOUCH_EVERY


def _view(operator: Operator) -> OperatorView:
    return OperatorView(
        operator.id, operator.email, operator.name, operator.role, operator.organization_id
    )


def _throttle_key(email: str) -> str:
    return f"operator:{email}"


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_operator(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: str,
    organization: str | None = None,
    name: str | None = None,
    now: datetime,
) -> OperatorView:
    """A new operator; ``organization`` is the partner name or restaurant uid a ``staff``
    operator works for (required for staff, refused for the other roles)."""
    email = normalize_email(email)
    errors: list[FieldError] = []
    if "@" not in email or len(email) > 320:
        errors.append(FieldError("email", "format", "not an email address"))
    if role not in ROLES:
        errors.append(FieldError("role", "enum", f"role must be one of {', '.join(ROLES)}"))
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(
            FieldError(
                "password", "min", f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
            )
        )
    organization_id: int | None = None
    if role == "staff" and not organization:
        errors.append(FieldError("org", "required", "staff operators belong to one organization"))
    elif organization and role in ROLES and role != "staff":
        errors.append(FieldError("org", "enum", f"{role} operators see every organization"))
    elif organization:
        found = list(
            await session.scalars(select(Organization).where(Organization.key == organization))
        )
        if len(found) != 1:
            errors.append(
                FieldError(
                    "org",
                    "not_found",
                    f"no organization named {organization!r}"
                    if not found
                    else f"{organization!r} names a partner and a restaurant",
                )
            )
        else:
            organization_id = found[0].id
    if await session.scalar(select(Operator.id).where(Operator.email == email)) is not None:
        errors.append(FieldError("email", "conflict", f"operator {email} exists already"))
    if errors:
        raise ValidationFailed(errors=errors)
    password_hash = await asyncio.to_thread(organizations.hash_password, password)
    operator = Operator(
        email=email,
        name=name or email.split("@")[0],
        password_hash=password_hash,
        role=role,
        organization_id=organization_id,
        disabled_at=None,
        created_at=now,
        updated_at=now,
    )
    session.add(operator)
    await session.flush()
    return _view(operator)


@dataclass(frozen=True, slots=True)
class OperatorListing:
    """One operator as ``orderdesk operator list`` shows it: the organization by its name (a
    partner's name or a restaurant's uid) rather than its id, and whether they are disabled."""

    email: str
    name: str
    role: str
    organization: str | None
    disabled_at: datetime | None
    created_at: datetime


async def list_operators(session: AsyncSession) -> list[OperatorListing]:
    rows = await session.execute(
        select(Operator, Organization.key)
        .outerjoin(Organization, Organization.id == Operator.organization_id)
        .order_by(Operator.email)
    )
    return [
        OperatorListing(
            operator.email,
            operator.name,
            operator.role,
            organization,
            operator.disabled_at,
            operator.created_at,
        )
        for operator, organization in rows
    ]


async def disable_operator(session: AsyncSession, email: str, *, now: datetime) -> bool:
    """Sign the operator out everywhere and refuse their sign-ins from now on.

    ``False`` when they were disabled already: the first date is kept, it is the one that says
    since when they could not sign in.
    """
    operator = await session.scalar(
        select(Operator).where(Operator.email == normalize_email(email))
    )
    if operator is None:
        raise NotFound(f"no operator {normalize_email(email)}")
    newly = operator.disabled_at is None
    if newly:
        operator.disabled_at = now
    await session.execute(delete(OperatorSession).where(OperatorSession.operator_id == operator.id))
    return newly


async def sign_in(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    now: datetime,
    ttl: timedelta,
    max_failures: int,
    window: timedelta,
) -> SignedIn | None:
    """Check the credentials and open a session; ``None`` when they are wrong.

    A failure is recorded in ``session``: the caller commits it even though the sign-in failed,
    otherwise the throttle would never engage. ``Throttled`` is raised before the password is
    looked at once the budget is spent.
    """
    email = normalize_email(email)
    key = _throttle_key(email)
    await check_login_throttle(session, key, now, max_failures, window)
    operator = await session.scalar(select(Operator).where(Operator.email == email))
    stored = operator.password_hash if operator else organizations.DUMMY_HASH
    ok = await asyncio.to_thread(password_matches, stored, password)
    if operator is None or not ok or operator.disabled_at is not None:
        await record_login_failure(session, key, now, window)
        return None
    await session.execute(delete(LoginThrottle).where(LoginThrottle.login == key))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        OperatorSession(
            operator_id=operator.id,
            token_hash=token_digest(token),
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ttl,
        )
    )
    return SignedIn(token, csrf, now + ttl, _view(operator))


async def active_session(
    session: AsyncSession, token: str, *, now: datetime, idle: timedelta
) -> ActiveSession | None:
    """The session behind a cookie's token, or ``None`` when it is unknown, expired, idle for
    longer than ``idle`` or its operator is disabled. Only reads: a request that finds the
    session's visit due (:meth:`ActiveSession.visit_due`) records it with
    :func:`record_visit`."""
    row = (
        await session.execute(
            select(OperatorSession, Operator)
            .join(Operator, Operator.id == OperatorSession.operator_id)
            .where(OperatorSession.token_hash == token_digest(token))
        )
    ).first()
    if row is None:
        return None
    opened, operator = row
    if opened.expires_at <= now or opened.last_seen_at + idle <= now or operator.disabled_at:
        return None
    return ActiveSession(
        opened.id, _view(operator), opened.csrf_token, opened.expires_at, opened.last_seen_at
    )


async def record_visit(session: AsyncSession, active: ActiveSession, now: datetime) -> None:
    """Count ``now`` as the session's last visit, from which its idle time runs."""
    await session.execute(
        update(OperatorSession).where(OperatorSession.id == active.id).values(last_seen_at=now)
    )


async def sign_out(session: AsyncSession, token: str) -> None:
    await session.execute(
        delete(OperatorSession).where(OperatorSession.token_hash == token_digest(token))
    )


async def forget_expired_sessions(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(OperatorSession).where(OperatorSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
