"""The wire models are what is sent: their enums follow the core, and errors.py's bodies and the
webhook payloads fit the models that document them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from orderdesk.core.errors import (
    BodyTooLarge,
    Conflict,
    DecodeBusy,
    DomainError,
    FieldError,
    IdempotencyInProgress,
    IdempotencyMismatch,
    NotFound,
    OrderTimedOut,
    StorageUnavailable,
    Throttled,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from orderdesk.core.orders import lifecycle
from orderdesk.core.orders.models import Order, OrderLine
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.models import Location
from orderdesk.dialects.partner import timeslots, wire
from orderdesk.dialects.partner.dialect import DIALECT

# The substatuses a new partner order starts in (instock true / false).
PARTNER_STARTS = ("awaiting_master_request", "not_in_stock")


def test_substatuses_are_the_lifecycle_s_as_far_as_a_partner_order_goes() -> None:
    documented = set(get_args(wire.Substatus))
    reachable: set[str] = set()
    todo = list(PARTNER_STARTS)
    while todo:
        substatus = todo.pop()
        if substatus not in reachable:
            reachable.add(substatus)
            todo.extend(lifecycle.TRANSITIONS[substatus])
    assert reachable <= documented
    assert documented <= set(lifecycle.STATUS_OF)
    assert set(get_args(wire.Status)) == {lifecycle.STATUS_OF[s] for s in documented}


def test_timeslots_are_the_ones_the_dialect_gives_the_core() -> None:
    (literal, *_) = get_args(wire.Timeslot)
    assert get_args(literal) == timeslots.NAMES
    aliases = tuple(field.alias for field in wire.FreeSlots.model_fields.values())
    assert aliases == timeslots.NAMES


DOCUMENTED_ERRORS: dict[int, type[BaseModel]] = {
    401: wire.Unauthorized,
    404: wire.NotFound,
    408: wire.RequestTimeout,
    409: wire.Conflict,
    413: wire.PayloadTooLarge,
    422: wire.ValidationError,
    429: wire.TooManyRequests,
    503: wire.ServiceUnavailable,
}
# Every error a partner operation can raise, with the status its documentation gives it.
RAISED: list[tuple[DomainError, int]] = [
    (ValidationFailed(errors=[FieldError("datetime.0.date", "required", "is required")]), 422),
    (ValidationFailed(errors=[]), 422),
    (IdempotencyMismatch("the key was used with another body"), 422),
    (Unauthorized("token expired"), 401),
    (Throttled("too many requests", retry_after=3), 429),
    (Unavailable("database busy", retry_after=2), 503),
    (StorageUnavailable("disk full", retry_after=5), 503),
    (DecodeBusy("no decode memory", retry_after=4), 503),
    (NotFound("order 7 not found"), 404),
    (Conflict("an order in 'cancelled' cannot move"), 409),
    (IdempotencyInProgress("in progress"), 409),
    (OrderTimedOut("timed out"), 409),
    (BodyTooLarge(1024), 413),
]


@pytest.mark.parametrize(("error", "status"), RAISED, ids=lambda v: type(v).__name__)
def test_error_bodies_are_the_documented_models(error: DomainError, status: int) -> None:
    response = DIALECT.render_error(error)

    assert response.status_code == status
    model = DOCUMENTED_ERRORS[status]
    body = json.loads(bytes(response.body))
    assert model.model_validate(body).model_dump(mode="json") == body
    if status in (429, 503):
        assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("status", [404, 408, 413])
def test_bare_http_errors_are_the_documented_models(status: int) -> None:
    response = DIALECT.render_http_error(status, "nothing here")

    body = json.loads(bytes(response.body))
    assert DOCUMENTED_ERRORS[status].model_validate(body).model_dump(mode="json") == body


def _view(**changes: Any) -> OrderView:
    now = datetime(2026, 12, 1, 9, 30, 12, 345678, tzinfo=UTC)
    order = Order(
        id=12,
        title="PAX wardrobe 150x236 +1",
        status="open",
        substatus="awaiting_master_request",
        customer={"phone": "+37120000000", "first_name": "Anna", "last_name": "Ozola"},
        address={
            "address": "Brivibas iela 1, Riga",
            "coordinates": {"lat": 56.95, "lon": 24},
            "details": "",
            "zip": "LV-1010",
        },
        payment_method="stripe",
        ready=True,
        preferences=[{"date": "2026-12-02", "slot": "1217"}],
        booked_day=date(2026, 12, 2),
        booked_slot="1217",
        fulfilment={"delivery_type": "to_door_by_lift", "slot_booked": False},
        created_at=now,
        updated_at=now,
        lines=[
            OrderLine(
                position=0,
                product_id=1,
                quantity=2,
                services=[{"name": "assembly", "price": 6900}],
                snapshot={"item_id": 1001},
            )
        ],
    )
    for name, value in changes.items():
        setattr(order, name, value)
    location = Location(id=1, key="nordhaus-riga", title="Nordhaus Riga", timezone="Europe/Riga")
    return OrderView(order, "nordhaus", "partner", location, ["5f1d7c2a9b3e4d6f8a0b1c2d"])


def test_webhook_payload_is_the_event_model_with_the_order_of_the_order_endpoints() -> None:
    now = datetime(2026, 12, 1, 10, 0, 0, 1_000, tzinfo=UTC)

    [(name, payload)] = wire.render_event("created", _view(), now)

    assert name == payload["event"] == "order.created"
    assert payload["created_at"] == "2026-12-01T10:00:00.001Z"
    assert "id" not in payload  # known once the outbox row exists: the dispatcher adds it
    sent = {"id": "7", **payload}
    event = wire.Event.model_validate(sent)
    assert json.loads(event.model_dump_json()) == sent
    assert payload["data"] == wire.render_order(_view()).model_dump(mode="json")
    [(changed, _)] = wire.render_event("status_changed", _view(), now)
    assert changed == "order.status_changed"


def test_a_view_the_models_do_not_describe_is_refused_not_sent() -> None:
    with pytest.raises(ValueError, match="_substatus"):
        wire.render_order(_view(substatus="awaiting_confirmation"))
    with pytest.raises(ValueError, match="address"):
        wire.render_order(_view(address={"street": "Via Roma 1"}))


def test_timestamps_are_utc_with_milliseconds_truncated() -> None:
    assert wire.iso_millis(datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.999Z"
    )
    assert wire.iso_millis(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    riga = datetime.fromisoformat("2026-07-01T12:00:00.123456+03:00")
    assert wire.iso_millis(riga) == "2026-07-01T09:00:00.123Z"
