"""Dialects are plug-ins: the application mounts, documents and routes errors for what it is given.

A third dialect here is a toy with one operation; it needs no change to the application to be
served, to answer its own errors, to be documented and to render its organizations' events.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.responses import Response

from orderdesk.app import create_app
from orderdesk.core.errors import DomainError, NotFound
from orderdesk.core.events.service import renderer_for
from orderdesk.core.orders.schemas import OrderView
from orderdesk.dialects.base import Dialect, installed
from orderdesk.settings import Settings

router = APIRouter()


@router.get("/things/{name}")
async def thing(name: str) -> dict[str, str]:
    """One thing by name; ``missing`` does not exist."""
    if name == "missing":
        raise NotFound("no such thing")
    return {"thing": name}


def render_error(exc: DomainError) -> Response:
    return JSONResponse({"toy_error": exc.message}, status_code=418)


def render_http_error(code: int, message: str) -> Response:
    return JSONResponse({"toy_http": code}, status_code=code)


def render_event(kind: str, view: OrderView, now: Any) -> list[tuple[str, dict[str, Any]]]:
    return [("toy." + kind, {})]


def document(schema: dict[str, Any]) -> None:
    schema.setdefault("tags", []).append({"name": "toy", "description": "The toy dialect."})


TOY = Dialect(
    name="toy",
    prefix="/toy",
    aliases=("/toy/v9",),
    router=router,
    errors={DomainError: render_error},
    render_http_error=render_http_error,
    render_event=render_event,
    document=document,
)


def test_the_distribution_installs_both_dialects() -> None:
    dialects = {d.name: d for d in installed()}
    assert set(dialects) == {"partner", "restaurant"}
    assert dialects["partner"].prefix == "/partner"
    assert dialects["restaurant"].prefix == "/api"


def test_a_path_belongs_to_a_dialect_only_under_its_prefix() -> None:
    assert TOY.serves("/toy")
    assert TOY.serves("/toy/things/a")
    assert TOY.serves("/toy/v9/things/a")
    assert not TOY.serves("/toyshop/things")


async def test_a_third_dialect_is_served_documented_and_answers_its_own_errors(
    tmp_path: Any,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'toy.db'}",
        media_dir=tmp_path / "media",
        rate_limit_enabled=False,
    )
    app = create_app(settings, background=False, dialects=[TOY])
    document = app.openapi()
    assert "/toy/things/{name}" in document["paths"]
    assert "/toy/v9/things/{name}" not in document["paths"]
    assert not any(path.startswith(("/partner", "/api")) for path in document["paths"])
    assert {"name": "toy", "description": "The toy dialect."} in document["tags"]
    assert renderer_for("toy") is render_event

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        assert (await client.get("/toy/v9/things/a")).json() == {"thing": "a"}
        missing = await client.get("/toy/things/missing")
        assert (missing.status_code, missing.json()) == (418, {"toy_error": "no such thing"})
        unknown = await client.get("/toy/nothing-here")
        assert (unknown.status_code, unknown.json()) == (404, {"toy_http": 404})
        # Outside every dialect the application answers in its own plain shape.
        outside = await client.get("/nowhere")
        assert outside.status_code == 404
        assert outside.json()["status"] == "error"
