"""Refusals the console shows on a page of their own: bad form input, or a change the core
refused. Always a 4xx with the reason in words and a way back, never a 500."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from orderdesk.console.web import Signed, render
from orderdesk.core.errors import ValidationFailed


def refused(
    request: Request,
    signed: Signed,
    message: str,
    *,
    section: str,
    back: str,
    status_code: int = 422,
) -> HTMLResponse:
    return render(
        request,
        "problem.html",
        {"title": "Nothing was changed", "message": message, "section": section, "back": back},
        signed=signed,
        status_code=status_code,
    )


def invalid(
    request: Request, signed: Signed, exc: ValidationFailed, *, section: str, back: str
) -> HTMLResponse:
    """A core validation failure, every problem listed."""
    message = "; ".join(f"{e.path}: {e.message}" for e in exc.errors) or exc.message
    return refused(request, signed, message, section=section, back=back)
