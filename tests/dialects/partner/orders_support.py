"""Helpers for the partner order tests: local dates, envelopes and the calls every test makes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image as PILImage
from sqlalchemy import select

from orderdesk.core.events.models import OutboxEvent
from orderdesk.core.orders.models import OrderEvent
from orderdesk.http.state import AppState

ERROR_KINDS = {
    404: ("NotFoundError", "NOT_FOUND"),
    409: ("ConflictError", "CONFLICT"),
    422: ("ValidationError", "VALIDATION_ERROR"),
}


def local_day(now: datetime, offset: int, timezone: str = "Europe/Riga") -> str:
    """``YYYY-MM-DD`` of the store's local today plus ``offset`` days."""
    today: date = now.astimezone(ZoneInfo(timezone)).date()
    return (today + timedelta(days=offset)).isoformat()


def ok_data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["statusCode"] == 200, body
    return body["data"]


def error_body(response: httpx.Response, code: int) -> dict[str, Any]:
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    name, kind = ERROR_KINDS[code]
    assert (body["name"], body["type"], body["code"], body["statusCode"], body["status"]) == (
        name,
        kind,
        code,
        code,
        "error",
    ), body
    return body


def field_errors(response: httpx.Response) -> dict[str, str]:
    """``{field: type}`` of a 422; fails if a field is listed twice."""
    data = error_body(response, 422)["data"]
    assert isinstance(data, list) and data
    fields = [e["field"] for e in data]
    assert len(fields) == len(set(fields)), data
    for error in data:
        assert isinstance(error["message"], str) and error["message"], error
    return {e["field"]: e["type"] for e in data}


async def create(client: httpx.AsyncClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok_data(
        await client.post("/partner/order/create", json=body, headers=headers)
    )
    return data


async def get(client: httpx.AsyncClient, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    data: dict[str, Any] = ok_data(await client.get(f"/partner/order/{order_id}", headers=headers))
    return data


async def order_ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[int]:
    data = ok_data(await client.get("/partner/order/list", params=params, headers=headers))
    return [order["_id"] for order in data]


async def free_slots(client: httpx.AsyncClient, store_id: str) -> dict[str, dict[str, bool]]:
    data: dict[str, dict[str, bool]] = ok_data(
        await client.get("/partner/slots/free", params={"store_id": store_id})
    )
    return data


def png_bytes(color: str = "red") -> bytes:
    buffer = BytesIO()
    PILImage.new("RGB", (16, 12), color).save(buffer, "PNG")
    return buffer.getvalue()


async def upload_image(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        "/partner/image/upload",
        headers=headers,
        files={"file": ("receipt.png", png_bytes(), "image/png")},
    )
    image_id: str = ok_data(response)[0]["id"]
    return image_id


async def order_events(state: AppState, order_id: int) -> list[OrderEvent]:
    async with state.transaction() as session:
        rows = await session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
        return list(rows)


async def outbox_events(state: AppState, order_id: int) -> list[OutboxEvent]:
    async with state.transaction() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.order_id == order_id).order_by(OutboxEvent.id)
        )
        return list(rows)
