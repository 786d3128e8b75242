from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base, Timestamped

# What each role may do in the console. ``staff`` is bound to one organization and sees nothing
# else; ``dispatcher`` and ``admin`` see every organization, and only ``admin`` changes
# configuration-like state (capacity, webhooks).
ROLES = ("admin", "dispatcher", "staff")


class Operator(Timestamped, Base):
    """A person who signs in to the console. The password is stored as argon2id only."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # Set for ``staff`` (their partner or restaurant), NULL for the other roles.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    disabled_at: Mapped[datetime | None]


class OperatorSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a copy of the
    database does not sign anyone in; the CSRF token is per session and checked on every form."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
