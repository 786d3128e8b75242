"""All runtime configuration, read once at start-up from ``ORDERDESK_*`` variables.

Bad values stop the program before it serves anything: :func:`load_settings` turns pydantic's
report into one line that names the setting, which is what an operator reading a crash log needs.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERDESK_", extra="forbid", frozen=True)

    database_url: str = "sqlite:///./orderdesk.db"
    media_dir: Path = Path("./media")
    public_url: str | None = None
    geocoder_url: str | None = None
    s3_bucket: str | None = None

    token_ttl_days: Annotated[int, Field(ge=1, le=3650)] = 30
    login_max_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    login_window_seconds: Annotated[int, Field(ge=1)] = 900
    idempotency_ttl_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 24

    upload_max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    upload_max_pixels: Annotated[int, Field(ge=1)] = 40_000_000
    image_max_side: Annotated[int, Field(ge=16, le=10_000)] = 2560
    request_max_bytes: Annotated[int, Field(ge=1024)] = 12 * 1024 * 1024

    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    log_level: str = "info"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+aiosqlite:", "postgresql:", "postgres:",
                                 "postgresql+asyncpg:")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("public_url", "geocoder_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def token_ttl(self) -> timedelta:
        return timedelta(days=self.token_ttl_days)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides (CLI options).

    Unknown ``ORDERDESK_*`` variables are rejected too: a typo in a deployment must not silently
    fall back to a default.
    """
    import os

    known = {f"ORDERDESK_{name.upper()}" for name in Settings.model_fields}
    for name in os.environ:
        if name.startswith("ORDERDESK_") and name not in known:
            raise SettingsError(f"{name}: unknown setting")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        raise SettingsError(f"ORDERDESK_{name.upper()}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
