"""The orders board (newest first, live) and an order's page with its actions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from orderdesk.console.web import Operator, render

router = APIRouter()


@router.get("/")
async def board(request: Request, signed: Operator) -> Response:
    return render(request, "board.html", {"title": "Orders"}, signed=signed)
