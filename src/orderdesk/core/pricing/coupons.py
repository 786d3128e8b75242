"""Coupons: whether one applies, what it takes off, using it no more often than allowed, and
making one-off coupons from a generator.

Codes (and generator codes) are case-insensitive: they are stored normalized by
:func:`normalize_code` (trimmed, upper-case) and looked up the same way, so a plain equality
uses the ``(organization_id, code)`` unique index and that constraint also forbids two codes that
differ only in case. Whatever writes coupons or generators (the setup document, an import) must
store ``normalize_code(code)``.

Amounts are integer minor units. The order minimum in human messages is printed with two
decimals, i.e. it assumes a currency with cents such as EUR.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from orderdesk.core.errors import FieldError, NotFound, ValidationFailed
from orderdesk.core.pricing.models import Coupon, CouponGenerator, CouponUse

# No 0/O, 1/I/L: codes are read aloud and typed from paper. 31 symbols, 8 of them: ~39.6 bits.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_SUFFIX_LENGTH = 8
_GENERATE_ATTEMPTS = 5
_WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True, slots=True)
class AppliedCoupon:
    """What a coupon does to an order of ``subtotal``: ``discount`` off, ``total`` left."""

    coupon: Coupon
    subtotal: int
    discount: int

    @property
    def total(self) -> int:
        return self.subtotal - self.discount


def normalize_code(code: str) -> str:
    """The stored form of a coupon or generator code."""
    return code.strip().upper()


def coupon_discount(coupon: Coupon, subtotal: int) -> int:
    """What ``coupon`` takes off an order of ``subtotal``.

    The percentage is rounded half-up to a whole minor unit (10 % of 19.95 is 2.00), the fixed
    ``discount_amount`` is added, and the sum never exceeds the subtotal, so a discount can never
    eat into the delivery fee.
    """
    if subtotal <= 0:
        return 0
    percent = (subtotal * coupon.discount_perc + 50) // 100
    return min(subtotal, percent + coupon.discount_amount)


# Why a coupon with a quantity cannot be used any more; its refusals carry their own reason code
# (``coupon_used_up``), the other refusals ``coupon_invalid``.
NO_USES_LEFT = "no uses left"


def check_coupon(coupon: Coupon, *, subtotal: int, email: str | None, today: date) -> str | None:
    """``None`` when ``coupon`` applies to this order, else why not, readable by a customer.

    ``today`` is the restaurant's local date; ``valid_from`` and ``valid_to`` are inclusive and
    ``valid_weekdays`` are ISO weekdays of that date. A coupon reserved for an e-mail address
    matches it case-insensitively and never matches an order without one. ``quantity`` is only
    read here; :func:`take_coupon_use` is what guarantees it under concurrency.
    """
    if coupon.valid_from is not None and today < coupon.valid_from:
        return "not valid yet"
    if coupon.valid_to is not None and today > coupon.valid_to:
        return "expired"
    if coupon.quantity is not None and coupon.quantity <= 0:
        return NO_USES_LEFT
    if coupon.valid_email and (
        email is None or email.strip().casefold() != coupon.valid_email.strip().casefold()
    ):
        return "reserved for another e-mail address"
    weekday = today.isoweekday()
    if coupon.valid_weekdays and weekday not in coupon.valid_weekdays:
        return f"not valid on {_WEEKDAYS[weekday - 1]}"
    if subtotal < coupon.order_min:
        return f"minimum order is {coupon.order_min // 100}.{coupon.order_min % 100:02d}"
    return None


async def find_coupon(session: AsyncSession, organization_id: int, code: str) -> Coupon | None:
    """The organization's coupon with this code, whatever the case the customer typed it in."""
    return await session.scalar(
        select(Coupon).where(
            Coupon.organization_id == organization_id, Coupon.code == normalize_code(code)
        )
    )


async def apply_coupon(
    session: AsyncSession,
    organization_id: int,
    code: str,
    *,
    subtotal: int,
    email: str | None,
    today: date,
) -> AppliedCoupon:
    """The coupon ``code`` applied to an order of ``subtotal``, by the same rules an order is
    checked with; reads only, so a preview never uses the coupon up.

    Raises :class:`ValidationFailed` on the field ``coupon`` as an order check reports it:
    type ``not_found`` for an unknown code, ``unavailable`` with the reason when it does not
    apply (dates, weekday, e-mail, order minimum, no use left).
    """
    coupon = await find_coupon(session, organization_id, code)
    if coupon is None:
        raise ValidationFailed(
            errors=[FieldError("coupon", "not_found", "no such coupon", "coupon_invalid")]
        )
    reason = check_coupon(coupon, subtotal=subtotal, email=email, today=today)
    if reason is not None:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "coupon",
                    "unavailable",
                    f"coupon cannot be used: {reason}",
                    "coupon_used_up" if reason == NO_USES_LEFT else "coupon_invalid",
                )
            ]
        )
    return AppliedCoupon(coupon, subtotal, coupon_discount(coupon, subtotal))


async def take_coupon_use(session: AsyncSession, coupon: Coupon) -> bool:
    """Take one use of ``coupon``; ``False`` when it has no use left.

    One conditional ``UPDATE ... SET quantity = quantity - 1 WHERE quantity > 0`` decides: on
    PostgreSQL a concurrent transaction waits for the row lock and READ COMMITTED re-evaluates the
    condition on the committed row, on SQLite writers are serialized (``BEGIN IMMEDIATE``), so
    across any number of processes a coupon is never used more often than its quantity allowed.
    An unlimited coupon (``quantity`` ``NULL``) has no counter to keep, so it is not written at
    all: its row is never locked, and orders that share it do not queue on each other.

    Nothing is committed here. On ``False`` nothing was written and the caller must not accept the
    order (roll back its transaction); on ``True`` the caller records the use with
    :func:`coupon_use_row` in the same transaction, and both become permanent, or are undone,
    together. Validity (dates, minimum...) is :func:`check_coupon`'s job, not this one's.
    """
    if coupon.quantity is None:
        return True
    row = (
        await session.execute(
            update(Coupon)
            .where(Coupon.id == coupon.id, Coupon.quantity > 0)
            .values(quantity=Coupon.quantity - 1)
            .returning(Coupon.quantity)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        return False
    set_committed_value(coupon, "quantity", row.quantity)
    return True


def coupon_use_row(
    coupon: Coupon, *, order_id: int, discount: int, now: datetime
) -> dict[str, object]:
    """The ``coupon_uses`` row that records a use taken by :func:`take_coupon_use`."""
    return {"coupon_id": coupon.id, "order_id": order_id, "discount": discount, "used_at": now}


async def give_back_coupon_use(session: AsyncSession, order_id: int) -> bool:
    """Undo the order's coupon use (the order timed out or was never fulfilled); ``False`` when
    it had none left to give back.

    Deleting the use record decides: when two processes give back the same order's use at once,
    only the one whose ``DELETE`` removed the row restores the quantity, so a coupon never
    gains a use it did not lose. Unlimited coupons stay ``NULL``. Nothing is committed here.
    """
    coupon_id = (
        await session.execute(
            delete(CouponUse)
            .where(CouponUse.order_id == order_id)
            .returning(CouponUse.coupon_id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if coupon_id is None:
        return False
    await session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.quantity.is_not(None))
        .values(quantity=Coupon.quantity + 1)
        .execution_options(synchronize_session="fetch")
    )
    return True


async def generate_coupon(
    session: AsyncSession,
    organization_id: int,
    gencode: str,
    *,
    valid_email: str | None,
    today: date,
) -> Coupon:
    """A new single-use coupon made from the organization's generator ``gencode``.

    The code is ``GENCODE-XXXXXXXX`` with 8 symbols drawn by :mod:`secrets` from an unambiguous
    alphabet (~40 bits), so codes cannot be guessed from one another. It is valid from ``today``
    (the restaurant's local date) through ``today + valid_days`` and copies the generator's
    discount and order minimum. A collision with an existing code is retried in a savepoint, so
    the caller's transaction is unaffected. Raises :class:`NotFound` for an unknown generator.
    """
    generator = await session.scalar(
        select(CouponGenerator).where(
            CouponGenerator.organization_id == organization_id,
            CouponGenerator.gencode == normalize_code(gencode),
        )
    )
    if generator is None:
        raise NotFound(f"no coupon generator {gencode!r}")
    email = valid_email.strip() if valid_email else None
    attempt = 0
    while True:
        attempt += 1
        suffix = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_SUFFIX_LENGTH))
        coupon = Coupon(
            organization_id=organization_id,
            code=f"{normalize_code(generator.gencode)}-{suffix}",
            discount_perc=generator.discount_perc,
            discount_amount=generator.discount_amount,
            order_min=generator.order_min,
            quantity=1,
            valid_from=today,
            valid_to=today + timedelta(days=generator.valid_days),
            valid_weekdays=[],
            valid_email=email or None,
            generator_id=generator.id,
        )
        try:
            async with session.begin_nested():
                session.add(coupon)
        except IntegrityError:
            if attempt >= _GENERATE_ATTEMPTS:
                raise
            continue
        return coupon
