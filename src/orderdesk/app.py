"""Builds the ASGI application: both dialects' routers, errors in each dialect's shape, health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderdesk import __version__, metrics
from orderdesk.background import Background
from orderdesk.console import web as console
from orderdesk.core.attachments.storage import image_storage
from orderdesk.core.errors import BodyTooLarge, DomainError, Unavailable, ValidationFailed
from orderdesk.core.fulfilment.geocoder import HttpGeocoder
from orderdesk.db.base import utcnow
from orderdesk.db.cache import ConfigCache, ConfigListener, watch_local_writes
from orderdesk.db.engine import (
    create_engine,
    create_sessionmaker,
    listener_dsn,
    read_only_engine,
)
from orderdesk.db.errors import is_unavailable
from orderdesk.dialects.base import Dialect, installed, register_event_renderers
from orderdesk.http.body import extra_schemas
from orderdesk.http.docs import install_docs
from orderdesk.http.logging import install_request_context
from orderdesk.http.metrics import RequestMetrics, metrics_endpoint
from orderdesk.http.ratelimit import RateLimiter, rate_limited
from orderdesk.http.readiness import READINESS_RESPONSES, PackagedMigrations, readiness
from orderdesk.http.redaction import install_log_redaction
from orderdesk.http.responses import (
    FASTAPI_ERROR_SCHEMAS,
    drop_unreferenced,
)
from orderdesk.http.state import AppState
from orderdesk.http.timeouts import BodyDeadline
from orderdesk.http.validation import request_field_errors
from orderdesk.settings import Settings, get_settings

log = logging.getLogger("orderdesk")

API_DESCRIPTION = """\
Order intake for partner stores and restaurants, in two wire dialects on one core.

* **Partner API** (`/partner`): a home-services marketplace's API. Partner stores log in with
  `POST /partner/authorize` and send the token they get in the `token` header; orders book a
  master into a date and timeslot, with receipt images.
* **Restaurant API** (`/api`): an ordering platform's API. Authenticate with an API key
  (`X-Api-Key`), a client id and secret (`X-Client-Id` + `X-Client-Secret`) or an OAuth2
  client-credentials token (`POST /api/oauth/token`, then `Authorization: Bearer`).

Each dialect answers errors in its own shape (described under each operation). Money is in minor
units (cents). Creating orders accepts an `Idempotency-Key` header: a retry with the same key and
body gets the first answer again, marked `Idempotent-Replayed: true`. Operations marked as
extensions (such as the order quotes) exist in neither original API.
"""

# Seconds a client is asked to wait when the database cannot serve it (see db.errors).
UNAVAILABLE_RETRY_AFTER = 2


def _plain_domain(exc: DomainError) -> JSONResponse:
    return JSONResponse({"status": "error", "message": exc.message}, status_code=400)


def _plain_http(code: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message}, status_code=code)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class ErrorRouter:
    """Sends each failure to the renderers of the dialect whose path it happened on.

    Paths outside every dialect (``/health``, ``/docs``...) answer in a plain
    ``{"status": "error", "message"}`` shape of the application's own, and the console's pages
    with a page.
    """

    def __init__(self, dialects: Sequence[Dialect]) -> None:
        self.dialects = tuple(dialects)

    def _dialect(self, path: str) -> Dialect | None:
        return next((d for d in self.dialects if d.serves(path)), None)

    def domain(self, path: str, exc: DomainError) -> Response:
        if console.serves(path):
            return console.error_page(400, exc.message)
        dialect = self._dialect(path)
        return dialect.render_error(exc) if dialect else _plain_domain(exc)

    def http(self, path: str, code: int, message: str) -> Response:
        if console.serves(path):
            return console.error_page(code, message)
        dialect = self._dialect(path)
        return dialect.render_http_error(code, message) if dialect else _plain_http(code, message)


class BodyLimit:
    """Refuse request bodies over the configured size, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, limited, with_headers)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    background: bool = True,
    dialects: Sequence[Dialect] | None = None,
) -> FastAPI:
    """The application, speaking ``dialects`` (by default every installed one).

    ``background=False`` leaves webhook delivery and countdown timeouts to the caller (tests
    drive them step by step with their own clock).
    """
    settings = settings or get_settings()
    dialects = tuple(installed() if dialects is None else dialects)
    errors = ErrorRouter(dialects)
    register_event_renderers(dialects)
    install_log_redaction()
    # /ready compares the database's schema with this, read from the packaged files once.
    migrations = PackagedMigrations.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            pool_timeout=settings.db_pool_timeout,
        )
        metrics.watch_pool(engine)
        # Configuration rows are cached per worker while a listener hears every change of them
        # (PostgreSQL); on SQLite the listener is absent and nothing is cached.
        cache = ConfigCache()
        dsn = listener_dsn(engine)
        listener = ConfigListener(dsn, cache) if dsn else None
        if listener is not None:
            watch_local_writes(engine, cache)
            listener.start()
        state = AppState(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine, cache=cache),
            storage=image_storage(settings),
            clock=clock or utcnow,
            geocoder=HttpGeocoder(settings.geocoder_url) if settings.geocoder_url else None,
            rate_limiter=(
                RateLimiter.from_settings(settings) if settings.rate_limit_enabled else None
            ),
            config_cache=cache,
            read_sessions=create_sessionmaker(read_only_engine(engine), cache=cache),
        )
        app.state.orderdesk = state
        loops = Background(
            state.sessions,
            lambda: state.clock(),
            idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
        )
        if background:
            loops.start()
        try:
            yield
        finally:
            if background:
                await loops.stop()
            if state.geocoder is not None:
                await state.geocoder.aclose()
            if state.rate_limiter is not None:
                await state.rate_limiter.aclose()
            if listener is not None:
                await listener.stop()
            state.storage.close()
            await engine.dispose()
            metrics.process_exiting()

    app = FastAPI(
        title="orderdesk",
        version=__version__,
        lifespan=lifespan,
        description=API_DESCRIPTION,
        servers=[{"url": settings.public_url or "/", "description": "this server"}],
        license_info={"name": "MIT", "identifier": "MIT"},
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    # Router-level dependencies run before each route's own, so budgets are spent before
    # authentication and a flood of bad credentials is throttled too.
    limited = [Depends(rate_limited)]
    # Included routes keep their own path; request metrics need their prefixes for templates.
    prefixes: dict[int, list[str]] = {}
    for dialect in dialects:
        app.include_router(dialect.router, prefix=dialect.prefix, dependencies=limited)
        for alias in dialect.aliases:
            app.include_router(
                dialect.router, prefix=alias, include_in_schema=False, dependencies=limited
            )
        for route in dialect.router.routes:
            prefixes.setdefault(id(route), []).extend((dialect.prefix, *dialect.aliases))
    for names in prefixes.values():
        names.sort(key=len, reverse=True)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    # After the APIs: Starlette tries routes in order, and API requests should not be matched
    # against every console page first.
    console.install(app)

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> JSONResponse:
        """Someone opening the bare address learns where the documentation is instead of
        meeting a 404; not an API operation, so not in the document."""
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return JSONResponse(
            {
                "name": "orderdesk",
                "version": __version__,
                "docs": f"{root}/docs",
                "redoc": f"{root}/redoc",
                "openapi": f"{root}{app.openapi_url}",
                "health": f"{root}/health",
            }
        )

    @app.get("/health", tags=["operations"], operation_id="health")
    async def health() -> dict[str, str]:
        """The process is up and answering (liveness); says nothing of the database."""
        return {"status": "ok"}

    @app.get(
        "/ready",
        tags=["operations"],
        operation_id="ready",
        response_class=JSONResponse,
        responses=READINESS_RESPONSES,
    )
    async def ready() -> JSONResponse:
        """Database, schema and media store usable now (200), or which is not (503)."""
        return await readiness(app.state.orderdesk, migrations)

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> Response:
        return errors.domain(request.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def on_request_validation(request: Request, exc: RequestValidationError) -> Response:
        if console.serves(request.url.path):
            # An id in the address that is not one names no page; a bad form field is said.
            in_path = any(error.get("loc", ("",))[0] == "path" for error in exc.errors())
            return console.error_page(
                404 if in_path else 422, "A field of this form could not be read."
            )
        failed = ValidationFailed(errors=request_field_errors(exc.errors()))
        return errors.domain(request.url.path, failed)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return errors.http(request.url.path, exc.status_code, str(exc.detail))

    # Registered per class (not under Exception) so that Starlette's ExceptionMiddleware answers
    # them as handled errors; anything that is not an outage is raised on to on_unexpected.
    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(TimeoutError)
    async def on_database_error(request: Request, exc: Exception) -> Response:
        if not is_unavailable(exc):
            raise exc
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            exc.__class__.__name__,
        )
        return errors.domain(
            request.url.path,
            Unavailable(
                "The service is temporarily unavailable; nothing was changed, retry in "
                f"{UNAVAILABLE_RETRY_AFTER} s",
                retry_after=UNAVAILABLE_RETRY_AFTER,
            ),
        )

    @app.exception_handler(ClientDisconnect)
    async def on_client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client left before its request arrived whole: nobody is there to answer, nothing
        # was done, and it is no server error worth a traceback.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = errors.http(request.url.path, 500, "Internal error")
        # Starlette sends this answer from outside every middleware, BodyLimit's headers too.
        response.headers.update({k.decode(): v.decode() for k, v in SECURITY_HEADERS})
        return response

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
                license_info=app.license_info,
                tags=[{"name": "operations", "description": "Health and readiness probes."}],
            )
            # Set here rather than given to FastAPI, whose model of it wants the optional
            # email-validator package for the address.
            schema["info"]["contact"] = {"name": "orderdesk operators"}
            if settings.api_contact_email:
                schema["info"]["contact"]["email"] = settings.api_contact_email
            for dialect in dialects:
                dialect.document(schema)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(extra_schemas())
            drop_unreferenced(schema, FASTAPI_ERROR_SCHEMAS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # Around everything, Starlette's 500 answers included: request ids and the access log.
    install_request_context(app)
    app.add_middleware(BodyLimit, limit=settings.request_max_bytes)
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout)
    app.add_middleware(RequestMetrics, prefixes=prefixes)  # outermost: sees every answer
    return app
