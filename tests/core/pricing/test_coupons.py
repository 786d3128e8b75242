"""Coupons: discount arithmetic and applicability (pure), then lookup, generation and taking a use
on a fresh SQLite file and a fresh PostgreSQL database, including 30 racing transactions."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import create_pg_database, drop_pg_database

from orderdesk.core.errors import NotFound
from orderdesk.core.orders.models import Order
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.pricing import coupons as coupons_module
from orderdesk.core.pricing.coupons import (
    CODE_ALPHABET,
    check_coupon,
    coupon_discount,
    coupon_use_row,
    find_coupon,
    generate_coupon,
    give_back_coupon_use,
    normalize_code,
    take_coupon_use,
)
from orderdesk.core.pricing.models import Coupon, CouponGenerator, CouponUse
from orderdesk.core.pricing.service import PricedLine, price_order
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.db.migrate import migrate

SUNDAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _coupon(**fields: Any) -> Coupon:
    values: dict[str, Any] = {
        "code": "WELCOME10",
        "discount_perc": 0,
        "discount_amount": 0,
        "quantity": None,
        "order_min": 0,
        "valid_from": None,
        "valid_to": None,
        "valid_weekdays": [],
        "valid_email": None,
    }
    values.update(fields)
    return Coupon(**values)


# --- discount ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("perc", "subtotal", "discount"),
    [
        (10, 1995, 200),  # 199.5 rounds half-up
        (10, 1994, 199),  # 199.4 rounds down
        (15, 1010, 152),  # 151.5
        (15, 1009, 151),  # 151.35
        (100, 1234, 1234),
        (0, 1234, 0),
    ],
)
def test_percent_discount_rounds_half_up(perc: int, subtotal: int, discount: int) -> None:
    assert coupon_discount(_coupon(discount_perc=perc), subtotal) == discount


def test_fixed_amount_is_added_to_the_percentage() -> None:
    assert coupon_discount(_coupon(discount_perc=10, discount_amount=300), 2000) == 500


def test_discount_never_exceeds_the_subtotal() -> None:
    assert coupon_discount(_coupon(discount_amount=500), 300) == 300
    assert coupon_discount(_coupon(discount_perc=100, discount_amount=100), 800) == 800


def test_empty_order_gets_no_discount() -> None:
    assert coupon_discount(_coupon(discount_amount=500), 0) == 0


def test_discount_does_not_reduce_the_delivery_fee() -> None:
    line = PricedLine(unit_price=700, quantity=1, services=())
    discount = coupon_discount(_coupon(discount_amount=1000), line.total)
    assert discount == 700
    assert price_order([line], delivery_fee=250, discount=discount).total == 250


# --- applicability ----------------------------------------------------------------------------


def _check(
    coupon: Coupon, *, subtotal: int = 5000, email: str | None = None, today: date = SUNDAY
) -> str | None:
    return check_coupon(coupon, subtotal=subtotal, email=email, today=today)


def test_unrestricted_coupon_applies() -> None:
    assert _check(_coupon()) is None


def test_before_valid_from_is_not_valid_yet() -> None:
    coupon = _coupon(valid_from=SUNDAY + timedelta(days=1))
    assert _check(coupon) == "not valid yet"


def test_after_valid_to_is_expired() -> None:
    coupon = _coupon(valid_to=SUNDAY - timedelta(days=1))
    assert _check(coupon) == "expired"


def test_date_bounds_are_inclusive() -> None:
    assert _check(_coupon(valid_from=SUNDAY, valid_to=SUNDAY)) is None


def test_weekday_outside_valid_weekdays_is_named() -> None:
    assert _check(_coupon(valid_weekdays=[1, 2, 3, 4, 5])) == "not valid on Sundays"
    assert _check(_coupon(valid_weekdays=[7]), today=SUNDAY - timedelta(days=2)) == (
        "not valid on Fridays"
    )


def test_weekday_inside_valid_weekdays_applies() -> None:
    assert _check(_coupon(valid_weekdays=[6, 7])) is None


def test_below_order_min_names_the_minimum() -> None:
    assert _check(_coupon(order_min=1500), subtotal=1499) == "minimum order is 15.00"
    assert _check(_coupon(order_min=1505), subtotal=100) == "minimum order is 15.05"


def test_exactly_order_min_applies() -> None:
    assert _check(_coupon(order_min=1500), subtotal=1500) is None


def test_reserved_email_matches_case_insensitively() -> None:
    coupon = _coupon(valid_email="Anna@Example.com")
    assert _check(coupon, email=" anna@example.COM") is None


def test_reserved_email_rejects_another_or_no_address() -> None:
    coupon = _coupon(valid_email="anna@example.com")
    assert _check(coupon, email="bob@example.com") == "reserved for another e-mail address"
    assert _check(coupon, email=None) == "reserved for another e-mail address"


def test_used_up_coupon_has_no_uses_left() -> None:
    assert _check(_coupon(quantity=0)) == "no uses left"
    assert _check(_coupon(quantity=1)) is None


def test_code_is_normalized_to_trimmed_upper_case() -> None:
    assert normalize_code("  welcome10 ") == "WELCOME10"


# --- database ---------------------------------------------------------------------------------


@dataclass
class Db:
    url: str
    sessions: async_sessionmaker[AsyncSession]

    @property
    def postgres(self) -> bool:
        return self.url.startswith("postgresql")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('coupons')) / 'orderdesk.db'}"
    else:
        url = await create_pg_database()
    engine = create_engine(url)
    try:
        await migrate(engine)
        yield Db(url, create_sessionmaker(engine))
    finally:
        await engine.dispose()
        if request.param == "postgresql":
            await drop_pg_database(url)


@pytest.fixture
async def session(db: Db) -> AsyncIterator[AsyncSession]:
    async with db.sessions() as s:
        yield s
        await s.rollback()


async def _restaurant(session: AsyncSession) -> Organization:
    key = f"resto-{secrets.token_hex(4)}"
    organization = Organization(kind="restaurant", key=key, title=key, settings={}, order_seq=0)
    session.add(organization)
    await session.flush()
    return organization


async def _orders(session: AsyncSession, organization: Organization, count: int) -> list[int]:
    location = Location(
        organization_id=organization.id,
        key=f"{organization.key}-centro",
        title="Centro",
        timezone="Europe/Rome",
        slot_capacity={},
        settings={},
    )
    session.add(location)
    await session.flush()
    orders = [
        Order(
            uid=secrets.token_hex(16),
            token=secrets.token_hex(32),
            organization_id=organization.id,
            location_id=location.id,
            number=n,
            status="open",
            substatus="open",
            title="Margherita",
            customer={},
            address=None,
            payment_method="cash",
            ready=True,
            preferences=[],
            subtotal=2000,
            total=2000,
            currency="EUR",
        )
        for n in range(1, count + 1)
    ]
    session.add_all(orders)
    await session.flush()
    return [o.id for o in orders]


async def _stored_coupon(
    session: AsyncSession, organization: Organization, **fields: Any
) -> Coupon:
    coupon = _coupon(organization_id=organization.id, **fields)
    session.add(coupon)
    await session.flush()
    return coupon


async def _uses(session: AsyncSession, coupon_id: int) -> list[CouponUse]:
    return list(await session.scalars(select(CouponUse).where(CouponUse.coupon_id == coupon_id)))


async def _quantity_in_db(session: AsyncSession, coupon_id: int) -> int | None:
    return await session.scalar(select(Coupon.quantity).where(Coupon.id == coupon_id))


async def test_find_coupon_ignores_the_case_of_the_code(session: AsyncSession) -> None:
    org = await _restaurant(session)
    coupon = await _stored_coupon(session, org, code="WELCOME10")
    assert await find_coupon(session, org.id, " welcome10") is coupon
    assert await find_coupon(session, org.id, "WELCOME11") is None


async def test_find_coupon_does_not_see_another_restaurants_codes(session: AsyncSession) -> None:
    mine, theirs = await _restaurant(session), await _restaurant(session)
    await _stored_coupon(session, theirs, code="WELCOME10")
    assert await find_coupon(session, mine.id, "WELCOME10") is None


async def _take(session: AsyncSession, coupon: Coupon, *, order_id: int, discount: int) -> bool:
    """Take a use and record it, in that order, as order creation does."""
    if not await take_coupon_use(session, coupon):
        return False
    await session.execute(
        insert(CouponUse), [coupon_use_row(coupon, order_id=order_id, discount=discount, now=NOW)]
    )
    return True


async def test_taking_a_use_decrements_and_records_it(session: AsyncSession) -> None:
    org = await _restaurant(session)
    [order_id] = await _orders(session, org, 1)
    coupon = await _stored_coupon(session, org, quantity=2)

    assert await _take(session, coupon, order_id=order_id, discount=150)

    assert coupon.quantity == 1
    assert await _quantity_in_db(session, coupon.id) == 1
    [use] = await _uses(session, coupon.id)
    assert (use.order_id, use.discount, use.used_at) == (order_id, 150, NOW)


async def test_last_use_goes_then_none_is_left(session: AsyncSession) -> None:
    org = await _restaurant(session)
    first, second = await _orders(session, org, 2)
    coupon = await _stored_coupon(session, org, quantity=1)

    assert await _take(session, coupon, order_id=first, discount=100)
    assert not await _take(session, coupon, order_id=second, discount=100)

    assert await _quantity_in_db(session, coupon.id) == 0
    assert [u.order_id for u in await _uses(session, coupon.id)] == [first]


async def test_a_stale_in_memory_quantity_does_not_matter(session: AsyncSession) -> None:
    org = await _restaurant(session)
    [order_id] = await _orders(session, org, 1)
    coupon = await _stored_coupon(session, org, quantity=0)
    coupon.quantity = 3  # what a check made from an old read would have seen

    assert not await _take(session, coupon, order_id=order_id, discount=1)
    assert await _uses(session, coupon.id) == []


async def test_unlimited_coupon_stays_unlimited(session: AsyncSession) -> None:
    org = await _restaurant(session)
    order_ids = await _orders(session, org, 3)
    coupon = await _stored_coupon(session, org, quantity=None)

    for order_id in order_ids:
        assert await _take(session, coupon, order_id=order_id, discount=1)

    assert coupon.quantity is None
    assert await _quantity_in_db(session, coupon.id) is None
    assert len(await _uses(session, coupon.id)) == 3


async def test_giving_back_a_use_restores_it_once(session: AsyncSession) -> None:
    org = await _restaurant(session)
    [order_id] = await _orders(session, org, 1)
    coupon = await _stored_coupon(session, org, quantity=1)
    assert await _take(session, coupon, order_id=order_id, discount=100)

    assert await give_back_coupon_use(session, order_id)
    assert not await give_back_coupon_use(session, order_id)

    assert coupon.quantity == 1
    assert await _quantity_in_db(session, coupon.id) == 1
    assert await _uses(session, coupon.id) == []


async def test_giving_back_an_unlimited_use_keeps_it_unlimited(session: AsyncSession) -> None:
    org = await _restaurant(session)
    [order_id] = await _orders(session, org, 1)
    coupon = await _stored_coupon(session, org, quantity=None)
    assert await _take(session, coupon, order_id=order_id, discount=100)

    assert await give_back_coupon_use(session, order_id)

    assert await _quantity_in_db(session, coupon.id) is None
    assert await _uses(session, coupon.id) == []


RACERS = 30
USES = 5


async def test_30_concurrent_orders_use_a_5_use_coupon_exactly_5_times(db: Db) -> None:
    """Every racer has read the coupon (quantity 5) before any of them writes; the conditional
    update alone must keep the count right. On PostgreSQL the racers hold open transactions on
    separate connections at once; on SQLite they are serialized by ``BEGIN IMMEDIATE``."""
    async with db.sessions() as setup, setup.begin():
        org = await _restaurant(setup)
        order_ids = await _orders(setup, org, RACERS)
        coupon_id = (await _stored_coupon(setup, org, quantity=USES)).id

    engine = create_engine(db.url, pool_size=RACERS)
    sessions = create_sessionmaker(engine)
    barrier = asyncio.Barrier(RACERS)

    async def race(order_id: int) -> bool:
        async with sessions() as s, s.begin():
            if db.postgres:
                coupon = await s.get_one(Coupon, coupon_id)
                assert coupon.quantity == USES
            else:
                coupon = Coupon(id=coupon_id, quantity=USES)
            await barrier.wait()
            return await _take(s, coupon, order_id=order_id, discount=100)

    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(race(order_id) for order_id in order_ids)), timeout=60
        )
    finally:
        await engine.dispose()

    assert results.count(True) == USES
    winners = {order_id for order_id, won in zip(order_ids, results, strict=True) if won}
    async with db.sessions() as check:
        assert await _quantity_in_db(check, coupon_id) == 0
        uses = await _uses(check, coupon_id)
        assert {u.order_id for u in uses} == winners
        assert (
            await check.scalar(
                select(func.count()).select_from(CouponUse).where(CouponUse.coupon_id == coupon_id)
            )
            == USES
        )


async def _generator(session: AsyncSession, org: Organization, **fields: Any) -> CouponGenerator:
    values: dict[str, Any] = {
        "gencode": "BDAY",
        "discount_perc": 15,
        "discount_amount": 200,
        "order_min": 1000,
        "valid_days": 30,
    }
    values.update(fields)
    generator = CouponGenerator(organization_id=org.id, **values)
    session.add(generator)
    await session.flush()
    return generator


async def test_generated_coupon_is_a_one_off_copy_of_the_generator(
    session: AsyncSession,
) -> None:
    org = await _restaurant(session)
    generator = await _generator(session, org)

    coupon = await generate_coupon(
        session, org.id, "bday", valid_email="anna@example.com", today=SUNDAY
    )

    assert re.fullmatch(rf"BDAY-[{CODE_ALPHABET}]{{8}}", coupon.code)
    assert coupon.id is not None
    assert (coupon.organization_id, coupon.generator_id) == (org.id, generator.id)
    assert (coupon.quantity, coupon.valid_from, coupon.valid_to) == (
        1,
        SUNDAY,
        SUNDAY + timedelta(days=30),
    )
    assert (coupon.discount_perc, coupon.discount_amount, coupon.order_min) == (15, 200, 1000)
    assert coupon.valid_email == "anna@example.com"
    assert await find_coupon(session, org.id, coupon.code.lower()) is coupon
    assert check_coupon(coupon, subtotal=1000, email="ANNA@example.com", today=SUNDAY) is None
    assert (
        check_coupon(
            coupon, subtotal=1000, email="anna@example.com", today=SUNDAY + timedelta(days=31)
        )
        == "expired"
    )


async def test_generated_codes_differ_and_avoid_ambiguous_symbols(session: AsyncSession) -> None:
    org = await _restaurant(session)
    await _generator(session, org)
    codes = {
        (await generate_coupon(session, org.id, "BDAY", valid_email=None, today=SUNDAY)).code
        for _ in range(20)
    }
    assert len(codes) == 20
    assert not set("".join(c.removeprefix("BDAY-") for c in codes)) & set("01ILO")


async def test_generating_from_an_unknown_generator_is_not_found(session: AsyncSession) -> None:
    org, other = await _restaurant(session), await _restaurant(session)
    await _generator(session, other)
    with pytest.raises(NotFound):
        await generate_coupon(session, org.id, "BDAY", valid_email=None, today=SUNDAY)


class _Symbols:
    """Stands in for :mod:`secrets`: draws one symbol per code, eight times, from a script."""

    def __init__(self, script: str) -> None:
        self.script: Iterator[str] = iter(script)
        self.current = ""
        self.drawn = 0

    def choice(self, _alphabet: str) -> str:
        if self.drawn % 8 == 0:
            self.current = next(self.script)
        self.drawn += 1
        return self.current


async def test_code_collision_is_retried_without_spoiling_the_transaction(
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = await _restaurant(session)
    await _generator(session, org)
    await _stored_coupon(session, org, code="BDAY-AAAAAAAA")
    monkeypatch.setattr(coupons_module, "secrets", _Symbols("AB"))

    coupon = await generate_coupon(session, org.id, "BDAY", valid_email=None, today=SUNDAY)

    assert coupon.code == "BDAY-BBBBBBBB"
    assert (
        await session.scalar(
            select(func.count()).select_from(Coupon).where(Coupon.organization_id == org.id)
        )
        == 2
    )


async def test_endless_collisions_give_up(
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = await _restaurant(session)
    await _generator(session, org)
    await _stored_coupon(session, org, code="BDAY-AAAAAAAA")
    monkeypatch.setattr(coupons_module, "secrets", _Symbols("A" * 10))

    with pytest.raises(IntegrityError):
        await generate_coupon(session, org.id, "BDAY", valid_email=None, today=SUNDAY)
