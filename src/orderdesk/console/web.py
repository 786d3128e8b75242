"""The console's HTTP plumbing: templates, who is signed in, CSRF, and its own error pages.

Every page is rendered on the server (Jinja2, autoescaped); htmx, a file in ``static/``, swaps
parts of pages for live updates and forms. Nothing is loaded from another host, and the pages
run under a Content-Security-Policy that allows scripts and styles from this server only.

**Sessions.** Signing in sets one cookie holding a random token (only its SHA-256 is stored,
see :mod:`orderdesk.core.operators.service`): ``HttpOnly`` so page scripts cannot read it,
``SameSite=Lax`` so other sites' forms do not carry it, ``Secure`` when the console is reached
over TLS (``ORDERDESK_PUBLIC_URL`` is ``https://...`` or the request itself is). It ends at its
fixed expiry, when idle for too long, or at sign-out.

**CSRF.** Every state-changing request must carry the session's CSRF token, as the ``csrf``
form field or the ``X-CSRF-Token`` header (htmx sends the header from the page's ``<body>``);
a request without it, or with another, is refused with 403 before anything is read or written.
The sign-in form has no session yet, so it uses a double-submit token: a random value in a
cookie and in the form, which another site can neither read nor set.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from orderdesk.core.operators.service import OperatorView, active_session, record_visit
from orderdesk.core.scheduling.service import slot_named
from orderdesk.http.state import AppState, State

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).parent
PREFIX = "/console"
SESSION_COOKIE = "orderdesk_console"
LOGIN_CSRF_COOKIE = "orderdesk_console_login"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@cache
def templates() -> Environment:
    """The template environment, built on the first page: a worker that only serves the APIs
    never imports Jinja2 (each worker's resident memory is budgeted, see docs/performance.md)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = label
    env.filters["slot"] = slot_label
    return env


def label(name: str | None) -> str:
    """A status or event name as people read it: ``awaiting_master_request`` becomes
    "Awaiting master request". Pages keep the machine name in a ``data-`` attribute."""
    return (name or "").replace("_", " ").capitalize()


def slot_label(name: str | None) -> str:
    """A booked timeslot by its hours ("12:00-17:00") when the slot is a defined one."""
    slot = slot_named(name) if name else None
    return slot.hours if slot else name or ""


class SignInRequired(Exception):
    """No valid session: the browser is sent to the sign-in page (htmx requests are told to
    reload the whole page there instead of swapping a login form into a fragment)."""


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token."""


class NotVisible(Exception):
    """Something the operator may not see: answered like a missing page, so staff cannot learn
    which ids exist in other organizations."""


@dataclass(frozen=True, slots=True)
class Signed:
    """The signed-in operator of a request, with the token its forms must carry."""

    operator: OperatorView
    csrf_token: str
    state: AppState


def secure_cookies(request: Request, state: AppState) -> bool:
    public = state.settings.public_url or ""
    return public.startswith("https://") or request.url.scheme == "https"


async def _signed(request: Request, state: State) -> Signed:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired
    settings = state.settings
    now = state.now()
    # A read; the write of the visit happens at most once a minute, so that pages and the
    # board's polling do not take SQLite's write lock from the APIs' orders.
    async with state.reads() as session:
        found = await active_session(
            session, token, now=now, idle=timedelta(minutes=settings.console_idle_minutes)
        )
    if found is None:
        raise SignInRequired
    if found.visit_due(now):
        async with state.transaction() as session:
            await record_visit(session, found, now)
    return Signed(found.operator, found.csrf_token, state)


async def _signed_and_checked(
    request: Request, signed: Annotated[Signed, Depends(_signed)]
) -> Signed:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, signed.csrf_token):
        raise CsrfRefused
    return signed


Operator = Annotated[Signed, Depends(_signed)]
"""A page anyone signed in may read."""

Action = Annotated[Signed, Depends(_signed_and_checked)]
"""A state-changing request: signed in, and carrying the session's CSRF token."""


def render(
    request: Request | None,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    signed: Signed | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """One page or fragment. ``signed`` puts the operator and CSRF token in reach of the
    layout (navigation, sign-out form, htmx's CSRF header)."""
    page = templates().get_template(template)
    html = page.render(
        request=request,
        prefix=PREFIX,
        operator=signed.operator if signed else None,
        csrf_token=signed.csrf_token if signed else None,
        **(context or {}),
    )
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    return response


def serves(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_page(status_code: int, message: str) -> HTMLResponse:
    """The console's answer to a failure the application's own handlers caught (an id in the
    address that is not a number, a form field of the wrong type, an unknown page): a page in
    words like the console's others, instead of the JSON the APIs answer."""
    titles = {404: "Not found", 405: "Not allowed"}
    if status_code == 404:
        message = "There is no such page."
    return render(
        None,
        "error.html",
        {"title": titles.get(status_code, "Not understood"), "message": message},
        status_code=status_code,
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, path: str) -> Response:
    """Go to ``path`` after a form: a 303 for a plain form, a full navigation for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": path})
    return RedirectResponse(path, status_code=303)


def install(app: FastAPI) -> None:
    """Mount the console on ``app``: its pages, its static files and its error pages."""
    from orderdesk.console import pages

    app.include_router(pages.router, prefix=PREFIX, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = f"{PREFIX}/login"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return render(
            request,
            "error.html",
            {
                "title": "Form expired",
                "message": "This form was not sent from a current console page. "
                "Reload the page and try again.",
            },
            status_code=403,
        )

    @app.exception_handler(NotVisible)
    async def _not_visible(request: Request, exc: NotVisible) -> Response:
        return render(
            request,
            "error.html",
            {"title": "Not found", "message": "There is no such page."},
            status_code=404,
        )
