"""Restaurant credentials: API keys, API clients with scopes, OAuth client-credentials tokens.

Guarantees: keys, secrets and tokens are stored only as hashes (SHA-256 for random keys and
tokens, argon2id for client secrets, which operators may choose themselves). A verified client
secret is remembered in process memory keyed by the stored hash, so a changed secret is checked
afresh and an integration sending ``X-Client-Secret`` on every request pays for argon2 once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.organizations.models import ApiClient, ApiKey, ClientToken, Organization
from orderdesk.core.organizations.service import password_matches, token_digest
from orderdesk.db.cache import cached

SCOPES = ("write:orders", "read:orders", "read:menu", "write:menu", "write:coupons")
ACCESS_TOKEN_TTL = timedelta(seconds=3600)
_verified: dict[tuple[int, str], str] = {}  # (client row id, stored hash) -> sha256 of secret
# Checks under way, by (client row id, stored hash, sha256 of the secret being checked).
_pending: dict[tuple[int, str, str], asyncio.Future[bool]] = {}


@dataclass(frozen=True, slots=True)
class RestaurantCaller:
    """An authenticated restaurant integration. API keys carry every scope."""

    organization_id: int
    organization_key: str
    organization_title: str
    organization_settings: dict[str, object]
    scopes: frozenset[str]
    client_id: str | None


def _caller(org: Organization, scopes: frozenset[str], client_id: str | None) -> RestaurantCaller:
    return RestaurantCaller(org.id, org.key, org.title, dict(org.settings), scopes, client_id)


async def caller_for_api_key(session: AsyncSession, key: str) -> RestaurantCaller | None:
    if not key or len(key) > 500:
        return None
    digest = token_digest(key)

    async def load() -> RestaurantCaller | None:
        row = (
            await session.execute(
                select(Organization)
                .join(ApiKey, ApiKey.organization_id == Organization.id)
                .where(
                    ApiKey.key_hash == digest,
                    ApiKey.revoked_at.is_(None),
                    Organization.kind == "restaurant",
                )
            )
        ).scalar_one_or_none()
        return _caller(row, frozenset(SCOPES), None) if row else None

    return await cached(session, ("api-key", digest), load)


async def _client(session: AsyncSession, client_id: str) -> tuple[ApiClient, Organization] | None:
    async def load() -> tuple[ApiClient, Organization] | None:
        row = (
            await session.execute(
                select(ApiClient, Organization)
                .join(Organization, Organization.id == ApiClient.organization_id)
                .where(
                    ApiClient.client_id == client_id,
                    ApiClient.active.is_(True),
                    Organization.kind == "restaurant",
                )
            )
        ).first()
        return (row[0], row[1]) if row else None

    return await cached(session, ("api-client", client_id), load)


async def _secret_ok(client: ApiClient, secret: str) -> bool:
    """Whether ``secret`` is the client's; argon2 runs once per process and secret.

    A storefront sends its secret with every request. Checking it costs argon2 (most of a
    second of CPU and 64 MiB), so a verified secret is remembered by its SHA-256; and requests
    that arrive together with a secret not yet verified (a burst at a freshly started worker)
    wait for one check instead of each running their own.
    """
    digest = hashlib.sha256(secret.encode()).hexdigest()
    cache_key = (client.id, client.secret_hash)
    if _verified.get(cache_key) == digest:
        return True
    pending_key = (client.id, client.secret_hash, digest)
    pending = _pending.get(pending_key)
    if pending is None:

        async def check() -> bool:
            ok = await asyncio.to_thread(password_matches, client.secret_hash, secret)
            if ok:  # remembered before the check is over: no later request starts another
                _verified[cache_key] = digest
            return ok

        pending = asyncio.ensure_future(check())
        _pending[pending_key] = pending
        pending.add_done_callback(lambda _: _pending.pop(pending_key, None))
    return await asyncio.shield(pending)


async def caller_for_client(
    session: AsyncSession, client_id: str, secret: str
) -> RestaurantCaller | None:
    if not client_id or not secret or len(client_id) > 200 or len(secret) > 500:
        return None
    found = await _client(session, client_id)
    if found is None or not await _secret_ok(found[0], secret):
        return None
    client, org = found
    return _caller(org, frozenset(client.scopes), client.client_id)


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int
    scopes: frozenset[str]


async def issue_access_token(
    session: AsyncSession,
    client_id: str,
    secret: str,
    requested: frozenset[str] | None,
    *,
    now: datetime,
) -> AccessToken | None:
    """A bearer token for a client with the requested scopes (all of its scopes by default).

    ``None`` for bad credentials; ``ValueError`` when a requested scope is not the client's.
    """
    found = await _client(session, client_id)
    if found is None or not await _secret_ok(found[0], secret):
        return None
    client = found[0]
    allowed = frozenset(client.scopes)
    scopes = allowed if requested is None else requested
    if not scopes <= allowed:
        raise ValueError(" ".join(sorted(scopes - allowed)))
    token = secrets.token_urlsafe(32)
    session.add(
        ClientToken(
            client_id=client.id,
            token_hash=token_digest(token),
            scopes=sorted(scopes),
            created_at=now,
            expires_at=now + ACCESS_TOKEN_TTL,
        )
    )
    return AccessToken(token, int(ACCESS_TOKEN_TTL.total_seconds()), scopes)


async def caller_for_bearer(
    session: AsyncSession, token: str, *, now: datetime
) -> RestaurantCaller | None:
    if not token or len(token) > 200:
        return None
    digest = token_digest(token)

    async def load() -> tuple[RestaurantCaller, datetime] | None:
        row = (
            await session.execute(
                select(ClientToken, ApiClient, Organization)
                .join(ApiClient, ApiClient.id == ClientToken.client_id)
                .join(Organization, Organization.id == ApiClient.organization_id)
                .where(ClientToken.token_hash == digest, ApiClient.active.is_(True))
            )
        ).first()
        if row is None:
            return None
        tok, client, org = row
        return _caller(org, frozenset(tok.scopes), client.client_id), tok.expires_at

    found = await cached(session, ("bearer", digest), load)
    if found is None or found[1] <= now:
        return None
    return found[0]
