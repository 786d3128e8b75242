"""All runtime configuration, read once at start-up from ``ORDERDESK_*`` variables.

Bad values stop the program before it serves anything: :func:`load_settings` turns pydantic's
report into one line that names the setting, which is what an operator reading a crash log needs.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it.

    ``field`` is the setting's field name, so that a command line can name the option the value
    came from instead of the variable.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def async_storage_url(url: str) -> str:
    """``limits`` names its asyncio storages ``async+<scheme>``; operators write the plain URL."""
    return url if url.startswith("async+") else f"async+{url}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERDESK_", extra="forbid", frozen=True)

    database_url: str = "sqlite:///./orderdesk.db"
    media_dir: Path = Path("./media")
    public_url: str | None = None
    # Who integrators should write to about this server; shown in the OpenAPI document.
    api_contact_email: str | None = None
    geocoder_url: str | None = None
    # Images go to this S3 bucket instead of media_dir when it is set; credentials come from
    # the standard AWS sources (environment, shared config, instance or container role).
    s3_bucket: str | None = None
    # An S3-compatible store (MinIO, Ceph, R2...): its URL; unset means AWS itself.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # Prepended to every object name ("orderdesk/images/"), so one bucket can serve several uses.
    s3_prefix: str = ""

    token_ttl_days: Annotated[int, Field(ge=1, le=3650)] = 30
    login_max_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    login_window_seconds: Annotated[int, Field(ge=1)] = 900
    # Console sessions end this long after sign-in, or sooner when idle for console_idle_minutes.
    console_session_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 12
    console_idle_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60
    idempotency_ttl_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 24

    upload_max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    upload_max_pixels: Annotated[int, Field(ge=1)] = 40_000_000
    image_max_side: Annotated[int, Field(ge=16, le=10_000)] = 2560
    request_max_bytes: Annotated[int, Field(ge=1024)] = 12 * 1024 * 1024
    # Memory (MiB) one process may spend decoding uploaded images at once, and how long an
    # upload waits for it before it is answered "unavailable, retry"; see
    # orderdesk.core.attachments.memory.
    image_decode_memory_mb: Annotated[int, Field(ge=64, le=1024 * 1024)] = 320
    image_decode_wait: Annotated[float, Field(gt=0, le=300)] = 20
    # Slow clients: seconds for a request's headers, then for its body, to arrive; past them
    # the request is answered 408 and its connection closed (orderdesk.http.timeouts).
    header_timeout: Annotated[float, Field(gt=0, le=3600)] = 10
    body_timeout: Annotated[float, Field(gt=0, le=3600)] = 30

    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    # How long a request waits for a pooled connection before it is answered "unavailable,
    # retry" (partner 503, restaurant INTERNAL_ERROR, both with Retry-After).
    db_pool_timeout: Annotated[float, Field(gt=0, le=300)] = 30
    log_level: str = "info"
    # One JSON object per log line (for log shippers), plain text (for a terminal), or auto:
    # text when standard error is a terminal, else JSON (orderdesk.http.logging).
    log_format: Literal["json", "text", "auto"] = "auto"

    # Request budgets (``limits`` notation, several joined by ";": "20/second;600/minute"),
    # per client IP and per API credential, for the whole server. A credential's 6000/minute
    # is a busy integration's 100 requests a second (Stripe's budget per account), over a
    # minute so that bursts fit; an IP gets twice that, so that one integration with two
    # credentials, plus its requests without one, fits behind one address. Why, in
    # orderdesk.http.ratelimit.
    rate_limit_enabled: bool = True
    rate_limit_ip: str = "12000/minute"
    rate_limit_client: str = "6000/minute"
    # memory:// counts per process, so each of N worker processes enforces 1/N of each budget;
    # redis://host:6379/0 (any URL ``limits`` knows) is shared by every worker, so N workers
    # enforce the whole budget together.
    rate_limit_storage: str = "memory://"
    rate_limit_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "orderdesk"
    # How many reverse proxies in front append to X-Forwarded-For; 0 ignores the header, which
    # any client can forge.
    rate_limit_trusted_proxies: Annotated[int, Field(ge=0, le=10)] = 0
    # How many processes serve this app side by side. ``orderdesk serve --workers N`` sets it
    # for its workers (they inherit the environment); set it only when another process manager
    # runs N copies of the app. In-process (memory://) budgets are divided by it.
    worker_processes: Annotated[int, Field(ge=1, le=1024)] = 1

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        # uvicorn's names (trace is its level below debug); a typo must not stop logging setup
        # with a traceback.
        levels = ("critical", "error", "warning", "info", "debug", "trace")
        if value.lower() not in levels:
            raise ValueError(f"must be one of {', '.join(levels)}, not {value!r}")
        return value.lower()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(
            ("sqlite:", "sqlite+aiosqlite:", "postgresql:", "postgres:", "postgresql+asyncpg:")
        ):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("s3_bucket", "s3_region", "s3_endpoint_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("s3_bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
            raise ValueError(
                "must be a bucket name (3-63 lowercase letters, digits, '.' and '-'), "
                f"not {value!r}"
            )
        return value

    @field_validator("s3_region")
    @classmethod
    def _region_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9-]{1,32}", value):
            raise ValueError(f"must be a region name such as eu-west-1, not {value!r}")
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _object_prefix(cls, value: str) -> str:
        if len(value) > 512 or not re.fullmatch(r"([A-Za-z0-9._-]+/)*", value):
            raise ValueError(
                "must be empty or folder names ending in '/', such as orderdesk/images/, "
                f"not {value!r}"
            )
        return value

    @field_validator("public_url", "geocoder_url", "s3_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("rate_limit_ip", "rate_limit_client")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            items = parse_many(value)
        except ValueError:
            items = []
        if not items or any(item.amount < 1 for item in items):
            raise ValueError(f"must be a rate limit such as 600/minute, not {value!r}")
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        try:
            storage_from_string(async_storage_url(value))
        except ConfigurationError as exc:
            raise ValueError(f"must be a storage URL that limits supports ({exc})") from None
        return value

    @property
    def token_ttl(self) -> timedelta:
        return timedelta(days=self.token_ttl_days)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# Kubernetes gives every container variables for each service of its namespace (the service
# name upper-cased, "-" as "_"): a service named "orderdesk" yields ORDERDESK_SERVICE_HOST,
# ORDERDESK_SERVICE_PORT, ORDERDESK_SERVICE_PORT_<PORT NAME>, ORDERDESK_PORT and
# ORDERDESK_PORT_<port>_<PROTOCOL> with its _PROTO, _PORT and _ADDR variants. They are not
# settings and not typos, so they are never reported.
_SERVICE_LINK = re.compile(
    r"ORDERDESK_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?"
    r"|PORT(?:_[0-9]+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?)"
)
# Set by ``orderdesk serve`` for the worker processes it starts: they inherit the environment
# it has already reported on, so they do not repeat the warning once each.
REPORTED_MARK = "_ORDERDESK_UNKNOWN_REPORTED"
_reported = False


# Variables a command reads for one of its options rather than as a setting.
COMMAND_VARIABLES = frozenset({"ORDERDESK_WEBHOOK_SECRET"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``ORDERDESK_*`` names in ``environ`` that are neither a setting nor a service link."""
    known = {f"ORDERDESK_{name.upper()}" for name in Settings.model_fields} | COMMAND_VARIABLES
    return sorted(
        name
        for name in environ
        if name.startswith("ORDERDESK_") and name not in known and not _SERVICE_LINK.fullmatch(name)
    )


def warn_unknown_variables() -> None:
    """Report unknown ``ORDERDESK_*`` variables on one stderr line, once per process.

    A misspelt name must not pass unnoticed, but neither may it stop a deployment: platforms add
    variables of their own, and a newer configuration may meet an older release during a
    rollback.
    """
    global _reported
    if _reported or os.environ.get(REPORTED_MARK):
        return
    _reported = True
    unknown = unknown_variables(os.environ)
    if unknown:
        print(
            f"orderdesk: warning: ignoring unknown settings: {', '.join(unknown)}",
            file=sys.stderr,
        )


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides (CLI options).

    Unknown ``ORDERDESK_*`` variables are reported once (:func:`warn_unknown_variables`); a
    malformed known one stops the program.
    """
    warn_unknown_variables()
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        raise SettingsError(f"ORDERDESK_{name.upper()}: {first['msg']}", field=name) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
