"""Signing in and out of the console."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from orderdesk.console.web import (
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Action,
    redirect,
    render,
    secure_cookies,
)
from orderdesk.core.errors import Throttled
from orderdesk.core.operators.service import sign_in, sign_out
from orderdesk.http.state import State

router = APIRouter()


def _login_page(
    request: Request, state: State, *, error: str | None = None, email: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"error": error, "email": email, "login_csrf": token},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, state),
        path=f"{PREFIX}/login",
        max_age=3600,
    )
    return response


@router.get("/login")
async def login_form(request: Request, state: State) -> Response:
    return _login_page(request, state)


@router.post("/login")
async def login(
    request: Request,
    state: State,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf or not expected or not secrets.compare_digest(csrf, expected):
        return _login_page(
            request,
            state,
            error="The sign-in form expired. Please try again.",
            email=email,
            status=403,
        )
    settings = state.settings
    ttl = timedelta(hours=settings.console_session_hours)
    try:
        async with state.transaction() as session:
            signed = await sign_in(
                session,
                email,
                password,
                now=state.now(),
                ttl=ttl,
                max_failures=settings.login_max_failures,
                window=timedelta(seconds=settings.login_window_seconds),
            )
    except Throttled as exc:
        response = _login_page(
            request,
            state,
            error=f"Too many failed sign-ins. Try again in {exc.retry_after} seconds.",
            email=email,
            status=429,
        )
        response.headers["retry-after"] = str(exc.retry_after)
        return response
    if signed is None:
        return _login_page(
            request, state, error="Wrong email or password.", email=email, status=401
        )
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, state),
        path=PREFIX,
        max_age=int(ttl.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
    return response


@router.post("/logout")
async def logout(request: Request, signed: Action) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    async with signed.state.transaction() as session:
        await sign_out(session, token)
    response = redirect(request, f"{PREFIX}/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
