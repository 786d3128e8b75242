"""The partner dialect as the application sees it (entry point ``orderdesk.dialects:partner``)."""

from __future__ import annotations

from orderdesk.dialects.base import Dialect
from orderdesk.dialects.partner import errors, openapi, routes, wire

DIALECT = Dialect(
    name="partner",
    prefix="/partner",
    # Clients of the original service call it with a version segment; same routes, one document.
    aliases=("/partner/v1",),
    router=routes.router,
    errors=errors.ERRORS,
    render_http_error=errors.error_response,
    render_event=wire.render_event,
    document=openapi.document,
)
