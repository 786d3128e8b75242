"""The run-time switches a setup document may set: busy mode and sold out, per location.

Operators flip these many times a day (the console, :mod:`orderdesk.core.organizations.busy`,
:mod:`orderdesk.core.catalog.sold_out`), while the setup document is applied now and then. So the
document is authoritative only for what it names, like POS menu pushes that own the items but
not their snoozes:

* ``paused_until`` left out of a store or subrestaurant: the pause is left as it is. Given: the
  location is paused until that time, until resumed (``"resumed"``), or not at all (``null``).
* ``sold_out`` left out: the location's snoozes are left as they are. Given (even ``[]``): the
  location's snoozes become exactly that list; others are switched back on.

Idempotent like the rest of the document: a pause or snooze already in the declared state is not
written again, so a second apply reports them unchanged. Writes are made as actor ``setup``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Product, SoldOut
from orderdesk.core.organizations.models import Location
from orderdesk.db.base import utcnow
from orderdesk.setup.schema import (
    UNTIL_RESUMED,
    SetupDocument,
    SetupError,
    SetupInvalid,
    SoldOutItemSpec,
    SoldOutProductSpec,
)

if TYPE_CHECKING:
    from orderdesk.setup.apply import ApplyReport

ACTOR = "setup"


@dataclass(frozen=True)
class _Declared:
    path: str
    key: str
    organization_id: int  # whose products a subrestaurant names; 0 for a store's items
    spec: Any  # StoreSpec | SubrestaurantSpec


def _declared(doc: SetupDocument, locations: dict[str, tuple[Any, str, str]]) -> list[_Declared]:
    found: list[_Declared] = []
    for p_index, partner in enumerate(doc.partners):
        for index, store in enumerate(partner.stores):
            path = f"$.partners[{p_index}].stores[{index}]"
            found.append(_Declared(path, store.id, 0, store))
    for r_index, restaurant in enumerate(doc.restaurants):
        for index, sub in enumerate(restaurant.subrestaurants):
            path = f"$.restaurants[{r_index}].subrestaurants[{index}]"
            owner: Location = locations[sub.uid][0]
            found.append(_Declared(path, sub.uid, owner.organization_id, sub))
    return found


def _pause(location: Location, until: datetime | str | None, now: datetime) -> bool:
    """Put ``location`` in the declared pause state; whether anything was written."""
    if until is None:
        if location.paused_at is None:
            return False
        location.paused_at = location.paused_until = location.paused_by = None
        return True
    end = None if until == UNTIL_RESUMED else until
    if location.paused_at is not None and location.paused_until == end:
        return False
    location.paused_at = now
    location.paused_until = end if isinstance(end, datetime) else None
    location.paused_by = ACTOR
    return True


async def _product_ids(
    session: AsyncSession, declared: Sequence[_Declared]
) -> tuple[dict[int, int], dict[tuple[int | None, str], int]]:
    """Products the ``sold_out`` lists name: by item id, and by (organization, uid)."""
    items = {e.item for d in declared for e in d.spec.sold_out if isinstance(e, SoldOutItemSpec)}
    uids = {
        (d.organization_id, e.product)
        for d in declared
        for e in d.spec.sold_out
        if isinstance(e, SoldOutProductSpec)
    }
    by_item: dict[int, int] = {}
    by_uid: dict[tuple[int | None, str], int] = {}
    if items:
        rows = await session.execute(
            select(Product.item_id, Product.id).where(Product.item_id.in_(items))
        )
        by_item = {item: pid for item, pid in rows if item is not None}
    if uids:
        named = await session.execute(
            select(Product.organization_id, Product.uid, Product.id).where(
                Product.organization_id.in_({org for org, _ in uids}),
                Product.uid.in_({uid for _, uid in uids}),
            )
        )
        by_uid = {(org, uid): pid for org, uid, pid in named}
    return by_item, by_uid


async def apply_switches(
    session: AsyncSession,
    doc: SetupDocument,
    locations: dict[str, tuple[Any, str, str]],
    report: ApplyReport,
) -> None:
    """Apply the ``paused_until`` and ``sold_out`` keys the document gives (see the module).

    Runs after the stores, subrestaurants, items and menus are written, so a product declared in
    the same document can be named. A product named but found nowhere raises
    :class:`SetupInvalid` with its path; the caller rolls back.
    """
    now = utcnow()
    declared = _declared(doc, locations)
    for entry in declared:
        if "paused_until" in entry.spec.model_fields_set:
            location: Location = locations[entry.key][0]
            changed = _pause(location, entry.spec.paused_until, now)
            report.record(f"pause {entry.key}", changed=changed)
    listing = [d for d in declared if "sold_out" in d.spec.model_fields_set]
    if not listing:
        await session.flush()
        return
    by_item, by_uid = await _product_ids(session, listing)
    errors: list[SetupError] = []
    wanted: dict[int, dict[int, datetime | None]] = {}
    for entry in listing:
        location_id = locations[entry.key][0].id
        wanted[location_id] = {}
        for index, item in enumerate(entry.spec.sold_out):
            if isinstance(item, SoldOutItemSpec):
                product_id = by_item.get(item.item)
                missing = f"no item {item.item}"
                at = f"{entry.path}.sold_out[{index}].item"
            else:
                product_id = by_uid.get((entry.organization_id, item.product))
                missing = f"no product {item.product} in this restaurant"
                at = f"{entry.path}.sold_out[{index}].product"
            if product_id is None:
                errors.append(SetupError(at, missing))
            else:
                wanted[location_id][product_id] = item.until
    if errors:
        raise SetupInvalid(errors)
    rows = await session.scalars(select(SoldOut).where(SoldOut.location_id.in_(wanted)))
    existing: dict[tuple[int, int], SoldOut] = {(r.location_id, r.product_id): r for r in rows}
    for entry in listing:
        location_id = locations[entry.key][0].id
        changed = False
        gone = [pid for (lid, pid) in existing if lid == location_id and pid not in wanted[lid]]
        if gone:
            await session.execute(
                delete(SoldOut).where(
                    SoldOut.location_id == location_id, SoldOut.product_id.in_(gone)
                )
            )
            changed = True
        for product_id, until in wanted[location_id].items():
            row = existing.get((location_id, product_id))
            if row is None:
                session.add(
                    SoldOut(
                        product_id=product_id,
                        location_id=location_id,
                        since=now,
                        until=until,
                        actor=ACTOR,
                    )
                )
                changed = True
            elif row.until != until:
                row.until, row.actor = until, ACTOR
                changed = True
        report.record(f"sold_out {entry.key}", changed=changed)
    await session.flush()
