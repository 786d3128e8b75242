"""The partner dialect's exact JSON shapes, in and out.

Requests are validated by these models (unknown keys ignored, types strict: ``"3"`` is not an
integer); responses are rendered from core views by the ``render_*`` functions.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orderdesk.core.catalog.models import Product
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.models import Location

Timeslot = Literal["0712", "1217", "1721"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PAYMENT_METHODS = ("stripe", "cash")
DELIVERY_TYPES = ("to_pavement", "to_door_by_lift", "to_door_by_stairs")


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class LoginIn(Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"login": "api@nordhaus.example", "password": "nordhaus-demo-password"}]
        }
    )

    login: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class CustomerIn(Wire):
    phone_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ]
    first_name: Text
    last_name: Text


class CoordinatesIn(Wire):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class AddressIn(Wire):
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    coordinates: CoordinatesIn
    details: Annotated[str, StringConstraints(max_length=1000)]
    zip: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class ItemIn(Wire):
    id: int
    count: Annotated[int, Field(ge=1, le=999)]
    delivery: bool = False
    assembly: bool = False


class PartnerDetailsIn(Wire):
    store_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=200)]
    instock: bool
    delivery_type: Literal["to_pavement", "to_door_by_lift", "to_door_by_stairs"] = "to_pavement"


class DateTimeIn(Wire):
    date: dt.date
    timeslot: Timeslot


class CreateOrderIn(Wire):
    """Body of ``POST /order/create`` as on the original create-order page."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer": {
                        "phone_number": "+37120000000",
                        "first_name": "Anna",
                        "last_name": "Ozola",
                    },
                    "address": {
                        "address": "Brivibas iela 1, Riga",
                        "coordinates": {"lat": 56.95, "lon": 24.11},
                        "details": "3rd floor, door code 1234",
                        "zip": "LV-1010",
                    },
                    "partner_details": {
                        "store_id": "nordhaus-riga",
                        "items": [{"id": 1001, "count": 1, "delivery": True, "assembly": True}],
                        "instock": True,
                        "delivery_type": "to_door_by_lift",
                    },
                    "datetime": [
                        {"date": "2026-12-01", "timeslot": "1217"},
                        {"date": "2026-12-02", "timeslot": "0712"},
                    ],
                    "payment_method": "stripe",
                    "image_uuids": ["5f1d7c2a9b3e4d6f8a0b1c2d"],
                }
            ]
        }
    )

    customer: CustomerIn
    address: AddressIn | None = None
    partner_details: PartnerDetailsIn
    datetime: Annotated[list[DateTimeIn], Field(min_length=1, max_length=93)]
    payment_method: Literal["stripe", "cash"]
    image_uuids: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=20)
    ]


class ChangeDatesIn(Wire):
    datetime: Annotated[list[DateTimeIn], Field(min_length=1, max_length=93)]


class OrderFilterIn(Wire):
    query: Annotated[str, StringConstraints(max_length=200)] | None = None
    store_ids: Annotated[list[str], Field(max_length=100)] = []
    filter: Annotated[list[str], Field(max_length=30)] = []


# --------------------------------------------------------------------------------------------
# Responses


def ok(data: Any) -> dict[str, Any]:
    return {"status": "ok", "statusCode": 200, "data": data}


def render_item(product: Product, category: str) -> dict[str, Any]:
    services = product.services
    return {
        "id": product.item_id,
        "title": product.name,
        "category": category,
        "delivery": "delivery" in services,
        "assembly": "assembly" in services,
        "delivery_price": int(services.get("delivery", 0)),
        "assembly_price": int(services.get("assembly", 0)),
        "currency": product.currency,
    }


def render_store(location: Location) -> dict[str, Any]:
    return {"store_id": location.key, "store_title": location.title, "timezone": location.timezone}


def iso_millis(value: dt.datetime) -> str:
    return (
        value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}Z"
    )


def render_created(view: OrderView) -> dict[str, Any]:
    order = view.order
    return {
        "_id": order.id,
        "title": order.title,
        "_status": order.status,
        "_substatus": order.substatus,
        "partner": view.organization_key,
        "partner_details": {
            "instock": order.ready,
            "store_id": view.location.key,
            "store_title": view.location.title,
        },
        "created_at": iso_millis(order.created_at),
    }


def render_order(view: OrderView) -> dict[str, Any]:
    order = view.order
    body = render_created(view)
    body["partner_details"]["delivery_type"] = order.fulfilment.get("delivery_type", "to_pavement")
    customer = order.customer
    services_of = {line.position: {s["name"] for s in line.services} for line in order.lines}
    body.update(
        {
            "datetime": [{"date": p["date"], "timeslot": p["slot"]} for p in order.preferences],
            "booked": (
                {"date": order.booked_day.isoformat(), "timeslot": order.booked_slot}
                if order.booked_day and order.booked_slot
                else None
            ),
            "customer": {
                "phone_number": customer.get("phone", ""),
                "first_name": customer.get("first_name", ""),
                "last_name": customer.get("last_name", ""),
            },
            "address": order.address,
            "items": [
                {
                    "id": line.snapshot.get("item_id", line.product_id),
                    "count": line.quantity,
                    "delivery": "delivery" in services_of[line.position],
                    "assembly": "assembly" in services_of[line.position],
                }
                for line in order.lines
            ],
            "payment_method": order.payment_method,
            "image_uuids": view.image_ids,
            "updated_at": iso_millis(order.updated_at),
        }
    )
    return body


def render_event(kind: str, view: OrderView, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """Webhook payloads for a core order event (registered with the outbox at import)."""
    event = "order.created" if kind == "created" else "order.status_changed"
    return [(event, {"event": event, "created_at": iso_millis(now), "data": render_order(view)})]
