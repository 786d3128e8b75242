from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base, Timestamped


class Organization(Timestamped, Base):
    """A partner of the marketplace or a restaurant: the unit of data isolation."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "partner" | "restaurant"
    key: Mapped[str] = mapped_column(String(100))  # partner name / restaurant uid
    title: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Per-organization order numbers are taken from this counter with a row-locking UPDATE.
    order_seq: Mapped[int] = mapped_column(default=0)


class Location(Timestamped, Base):
    """A partner store or a restaurant sub-location; owns scheduling capacity.

    ``key`` is the id clients use on the wire (``store_id``, ``subrestaurant_uid``) and is unique
    across the server because some lookups (free slots) come without credentials.
    """

    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # Default capacity per timeslot, e.g. {"0712": 2, "1217": 2, "1721": 1}.
    slot_capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Busy mode: intake paused since ``paused_at`` until ``paused_until`` (NULL: until resumed).
    # New orders are refused while it holds; nothing has to run for a timed pause to end.
    paused_at: Mapped[datetime | None]
    paused_until: Mapped[datetime | None]
    paused_by: Mapped[str | None] = mapped_column(String(200))


class ApiUser(Timestamped, Base):
    """A login of an organization's integration (partner dialect: login + password)."""

    __tablename__ = "api_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class ApiToken(Base):
    """An issued session token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed-login counter per login, shared by every worker through the database."""

    __tablename__ = "login_throttle"

    login: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]


class WebhookSubscription(Timestamped, Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        Index("ix_webhook_subscriptions_org_url", "organization_id", "url", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    # Runtime state, apart from ``active`` (the setup's): see orderdesk.core.events.health.
    disabled_at: Mapped[datetime | None]
    enabled_at: Mapped[datetime | None]


class ApiKey(Base):
    """A restaurant API key (``X-Api-Key``); only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiClient(Timestamped, Base):
    """A restaurant API client: id + secret (stored as argon2id) with scopes.

    Verified secrets are remembered in process memory (keyed by the stored hash), so a client
    sending ``X-Client-Secret`` on every request pays for argon2 once per process.
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(200), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)


class ClientToken(Base):
    """An OAuth 2.0 client-credentials access token; only its SHA-256 is stored."""

    __tablename__ = "client_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
