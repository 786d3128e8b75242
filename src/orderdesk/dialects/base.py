"""What a dialect hands the application: one object, so the application names no dialect.

A dialect is a package that translates one public API onto the core. It exposes a single
:class:`Dialect` under the ``orderdesk.dialects`` entry-point group of its distribution; the
application mounts every installed one, sends each failure under a dialect's prefix through that
dialect's renderers, lets it describe its own operations in the OpenAPI document, and tells the
outbox how its organizations' subscribers want events. Adding a third dialect is a new package
and one entry-point line; nothing here or in ``app.py`` changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from orderdesk.core.errors import DomainError
from orderdesk.core.events.service import EventRenderer, register_renderer

ENTRY_POINT_GROUP = "orderdesk.dialects"

# How a dialect answers each kind of domain error; a renderer takes an instance of its key.
ErrorTable = Mapping[type[DomainError], Callable[[Any], Response]]


@dataclass(frozen=True, slots=True)
class Dialect:
    """One public API on the core.

    ``name`` is the kind of organization it serves (an organization's ``kind``), so the outbox can
    pick ``render_event`` for that organization's subscribers. Every path under ``prefix`` (and
    under each of ``aliases``, mounted without documentation) answers failures through its
    ``errors`` table (domain errors, looked up by the error's class, then its bases) and
    ``render_http_error`` (bare HTTP ones: unknown path, wrong method, internal error).
    ``document`` amends the generated OpenAPI document for this dialect's operations: its
    response shapes, security schemes, tags, headers, examples.
    """

    name: str
    prefix: str
    router: APIRouter
    errors: ErrorTable
    render_http_error: Callable[[int, str], Response]
    render_event: EventRenderer
    document: Callable[[dict[str, Any]], None]
    aliases: tuple[str, ...] = ()

    def render_error(self, exc: DomainError) -> Response:
        for cls in type(exc).__mro__:
            render = self.errors.get(cls)
            if render is not None:
                return render(exc)
        raise TypeError(f"{self.name} has no answer for {type(exc).__name__}")  # pragma: no cover

    def serves(self, path: str) -> bool:
        return any(
            path == prefix or path.startswith(prefix + "/")
            for prefix in (self.prefix, *self.aliases)
        )


class DialectLoadError(RuntimeError):
    """An installed entry point does not give a :class:`Dialect`."""


@cache
def installed() -> tuple[Dialect, ...]:
    """Every dialect installed in this environment, in entry-point name order."""
    found = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        dialect = point.load()
        if not isinstance(dialect, Dialect):
            raise DialectLoadError(
                f"entry point {point.name} = {point.value} is not an orderdesk Dialect"
            )
        found.append(dialect)
    if not found:
        raise DialectLoadError(
            f"no dialect is installed (entry-point group {ENTRY_POINT_GROUP!r}); "
            "install the package, e.g. pip install -e ."
        )
    return tuple(found)


def register_event_renderers(dialects: Sequence[Dialect]) -> None:
    """Tell the outbox how each kind of organization's subscribers want their events.

    Every process that changes orders (servers, workers timing out countdowns) calls this once at
    start-up; the core never imports a dialect itself.
    """
    for dialect in dialects:
        register_renderer(dialect.name, dialect.render_event)
