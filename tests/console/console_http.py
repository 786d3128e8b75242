"""Signing in to the console the way a browser does, for the HTTP tests of its pages: GET the
sign-in form, read its hidden CSRF field, POST email, password and that token; the client then
carries the session cookie, and each page's forms carry the session's CSRF token."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from orderdesk.core.operators.service import OperatorView, create_operator
from orderdesk.http.state import AppState

PASSWORD = "console test password"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def new_operator(
    state: AppState, role: str = "dispatcher", organization: str | None = None
) -> OperatorView:
    """An operator with a unique email; ``organization`` (partner name or restaurant uid) for
    staff."""
    async with state.transaction() as session:
        return await create_operator(
            session,
            email=f"op-{secrets.token_hex(4)}@console.example",
            password=PASSWORD,
            role=role,
            organization=organization,
            name=f"Operator {role}",
            now=state.now(),
        )


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token in a page's forms."""
    found = _CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, operator: OperatorView) -> str:
    """Sign ``client`` in as ``operator`` through the real form; the session's CSRF token."""
    form = await client.get("/console/login")
    assert form.status_code == 200
    answer = await client.post(
        "/console/login",
        data={"email": operator.email, "password": PASSWORD, "csrf": csrf_of(form)},
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/console/capacity")
    assert page.status_code == 200, page.text
    return csrf_of(page)


@asynccontextmanager
async def signed_in(
    app: FastAPI, operator: OperatorView
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client of its own signed in as ``operator``, and its session's CSRF token."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client, await sign_in(client, operator)
