"""The restaurant dialect as the application sees it (entry point
``orderdesk.dialects:restaurant``)."""

from __future__ import annotations

from orderdesk.dialects.base import Dialect
from orderdesk.dialects.restaurant import errors, openapi, routes, wire

DIALECT = Dialect(
    name="restaurant",
    prefix="/api",
    router=routes.router,
    errors=errors.ERRORS,
    render_http_error=errors.http_error,
    render_event=wire.render_event,
    document=openapi.document,
)
