"""The core names draft fields in its own vocabulary, and acts on fulfilment kinds.

Paths: a dialect renames them with a :class:`PathTable`. Kinds: a delivery needs a place to
deliver to, whatever code the dialect gave the method.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import fresh_sessions, rolled_back

from orderdesk.core.errors import FieldError, ValidationFailed
from orderdesk.core.fulfilment.methods import FulfilmentKind
from orderdesk.core.orders import service as orders
from orderdesk.core.orders.schemas import (
    DeliveryDraft,
    MethodChoice,
    OrderDraft,
    PathTable,
    TimeBooking,
)
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.organizations.service import Principal

NOW = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)

TABLE = PathTable(
    {
        "location": "store",
        "lines.{i}.product": "items.{i}.id",
        "lines.{i}.services.{name}": "items.{i}.{name}",
        "lines.{i}.options": "items.{i}.choices",
        "lines.0.product": "first.id",
        "delivery.place": "delivery.address.place_id",
    }
)


@pytest.mark.parametrize(
    ("core", "wire"),
    [
        ("location", "store"),
        ("lines.3.product", "items.3.id"),
        ("lines.0.product", "first.id"),  # a literal segment beats a placeholder
        ("lines.2.services.assembly", "items.2.assembly"),
        ("lines.1.options", "items.1.choices"),
        ("lines.1.options.0.values.2.uid", "items.1.choices.0.values.2.uid"),  # the rest is kept
        ("delivery.place", "delivery.address.place_id"),
        ("delivery", "delivery"),  # unmatched paths pass unchanged
        ("locations", "locations"),  # a pattern matches whole segments only
    ],
)
def test_path_table_renames_core_paths(core: str, wire: str) -> None:
    assert TABLE.wire_path(core) == wire


def test_a_request_may_add_entries_without_changing_the_table() -> None:
    moved = TABLE.with_entries({"lines.{i}.product": "details.{i}.uid"})
    assert (moved.wire_path("lines.4.product"), TABLE.wire_path("lines.4.product")) == (
        "details.4.uid",
        "items.4.id",
    )


def test_applied_renames_a_validation_failure_and_its_summary() -> None:
    failed = ValidationFailed(errors=[FieldError("lines.2.product", "not_found", "no such item")])
    with pytest.raises(ValidationFailed) as raised, TABLE.applied():
        raise failed
    assert raised.value.errors == [FieldError("items.2.id", "not_found", "no such item")]
    assert raised.value.message == "items.2.id: no such item"


# --- fulfilment kinds ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with fresh_sessions(request.param, tmp_path_factory.mktemp("drafts")) as made:
        yield made


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with rolled_back(sessions) as s:
        yield s


async def _restaurant(session: AsyncSession) -> tuple[Principal, Location]:
    suffix = secrets.token_hex(4)
    org = Organization(
        kind="restaurant",
        key=f"resto-{suffix}",
        title="Resto",
        settings={"dmethods": ["pickup-code", "delivery-code"], "cash_subs": ["pos"]},
    )
    session.add(org)
    await session.flush()
    location = Location(
        organization_id=org.id, key=f"resto-{suffix}-a", title="A", timezone="Europe/Rome"
    )
    session.add(location)
    await session.flush()
    return Principal(org.id, "restaurant", org.key, org.title, None, "test"), location


def _draft(
    location: Location, kind: FulfilmentKind, code: str, delivery: DeliveryDraft | None
) -> OrderDraft:
    return OrderDraft(
        location_key=location.key,
        customer={"first_name": "A", "last_name": "B", "phone": "+39 02 1234 5678"},
        address=None,
        payment_method="cash",
        ready=True,
        preferences=[],
        lines=[],
        image_ids=[],
        booking=TimeBooking(None),
        delivery=delivery,
        methods=MethodChoice(kind, code, "pos"),
    )


async def test_a_delivery_without_a_place_is_refused(session: AsyncSession) -> None:
    principal, location = await _restaurant(session)
    found = await orders.draft_errors(
        session, principal, _draft(location, "delivery", "delivery-code", None), now=NOW
    )
    assert [(e.path, e.type) for e in found if e.path == "delivery"] == [("delivery", "required")]


async def test_other_kinds_need_no_place(session: AsyncSession) -> None:
    principal, location = await _restaurant(session)
    found = await orders.draft_errors(
        session, principal, _draft(location, "pickup", "pickup-code", None), now=NOW
    )
    assert not [e for e in found if e.path.startswith("delivery")]


async def test_the_method_code_is_checked_as_data_not_its_kind(session: AsyncSession) -> None:
    principal, location = await _restaurant(session)
    found = await orders.draft_errors(
        session, principal, _draft(location, "pickup", "other-pickup-code", None), now=NOW
    )
    assert [(e.path, e.type, e.reason) for e in found if e.path == "method"] == [
        ("method", "enum", "method_disabled")
    ]
