"""Applying a setup document: upsert what it declares, leave everything else alone.

Guarantees:

* Entities are matched by their ids (partner name, login, store id, webhook URL within its
  partner, ``masters_on`` date and timeslot within its store, category, item id, place_id), so a
  changed document updates rows in place. Rows the document does not mention are never touched.
  Restaurants follow the same rules; their matching is described in
  :mod:`orderdesk.setup.restaurants`.
* Idempotent: a column is written only when its value differs, so applying the same document
  again changes no row, not even ``updated_at``. Passwords are checked against the stored argon2id
  hash and re-hashed only when they changed. A declared webhook is (re)activated; columns the
  document has no say in (settings, visibility, positions) are never written for existing rows.
  Busy mode and sold-out switches are written only where the document gives their keys
  (:mod:`orderdesk.setup.switches`): operators' run-time switches survive a re-apply.
* All-or-nothing: :func:`apply_setup` never commits. Ownership conflicts (a store id, login or item
  id, subrestaurant uid, API key or client id that belongs to another organization) are all found
  before the first write and raised together as :class:`SetupInvalid`; the caller rolls back. A
  dry run is an apply that is rolled back.
* Cost grows with the document, not with the database: each kind of entity is loaded with one
  query (large id lists in chunks of a few thousand) and catalog rows are written in bulk.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Category, Product
from orderdesk.core.catalog.search import fold
from orderdesk.core.fulfilment.models import Place
from orderdesk.core.organizations.models import (
    ApiUser,
    Location,
    Organization,
)
from orderdesk.core.organizations.service import hash_password, password_matches
from orderdesk.core.scheduling.models import CapacityOverride
from orderdesk.core.scheduling.service import set_overrides
from orderdesk.db.base import utcnow
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.db.migrate import migrate
from orderdesk.setup.restaurants import (
    apply_restaurants,
    load_restaurants,
    ownership_errors,
)
from orderdesk.setup.rows import assign
from orderdesk.setup.schema import (
    ItemSpec,
    PlaceSpec,
    SetupDocument,
    SetupError,
    SetupInvalid,
    parse_setup,
)
from orderdesk.setup.switches import ACTOR as SETUP_ACTOR
from orderdesk.setup.switches import apply_switches
from orderdesk.setup.webhooks import apply_webhooks

PARTNER = "partner"
# Both SQLite (32766) and asyncpg (32767) cap the bind parameters of one statement.
_CHUNK = 5000
_LISTED_PER_KIND = 20
_PLURALS = {"category": "categories", "masters_on": "masters_on entries"}

T = TypeVar("T")


@dataclass
class ApplyReport:
    """What an apply did, one ``"<kind> <id>"`` entry per declared entity (``"item 1001"``)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False

    def record(self, label: str, *, created: bool = False, changed: bool = False) -> None:
        if created:
            self.created.append(label)
        elif changed:
            self.updated.append(label)
        else:
            self.unchanged.append(label)

    def render(self) -> str:
        """Human-readable summary for the command line.

        Created and updated entities are listed (at most 20 per kind, then a count); unchanged
        ones are only counted, since a large catalog would drown the changes.
        """
        lines: list[str] = []
        if self.dry_run:
            lines.append("Dry run: nothing was saved.")
        for heading, entries in (("Created", self.created), ("Updated", self.updated)):
            lines.append(f"{heading}: {_counts(entries)}")
            lines.extend(f"  {line}" for line in _listing(entries))
        lines.append(f"Left alone (unchanged): {_counts(self.unchanged)}")
        return "\n".join(lines)


def _kind(entry: str) -> str:
    return entry.split(" ", 1)[0]


def _plural(kind: str, count: int) -> str:
    return kind if count == 1 else _PLURALS.get(kind, f"{kind}s")


def _counts(entries: Sequence[str]) -> str:
    if not entries:
        return "nothing"
    counts = Counter(_kind(entry) for entry in entries)
    return ", ".join(f"{n} {_plural(kind, n)}" for kind, n in counts.items())


def _listing(entries: Sequence[str]) -> Iterator[str]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_kind[_kind(entry)].append(entry)
    for kind, group in by_kind.items():
        yield from group[:_LISTED_PER_KIND]
        if len(group) > _LISTED_PER_KIND:
            rest = len(group) - _LISTED_PER_KIND
            yield f"... and {rest} more {_plural(kind, rest)}"


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _owner(kind: str | None, key: str | None) -> str:
    return f'{kind or "organization"} "{key}"'


async def apply_setup(session: AsyncSession, doc: SetupDocument) -> ApplyReport:
    """Upsert everything ``doc`` declares into ``session``'s transaction (never committed here).

    Raises :class:`SetupInvalid` (before writing anything) when a store id, login, item id,
    subrestaurant uid, API key or client id of the document already belongs to another
    organization.
    """
    report = ApplyReport()
    partners = await _load_partners(session, [p.name for p in doc.partners])
    users = await _load_users(session, [u.login for p in doc.partners for u in p.users])
    stores = await _load_stores(
        session,
        [s.id for p in doc.partners for s in p.stores]
        + [s.uid for r in doc.restaurants for s in r.subrestaurants],
    )
    products = await _load_products(session, [item.id for item in doc.items])
    restaurants = await load_restaurants(session, doc.restaurants)
    conflicts = _ownership_errors(doc, users, stores)
    conflicts += ownership_errors(doc.restaurants, restaurants, stores)
    if conflicts:
        raise SetupInvalid(conflicts)

    await _apply_partners(session, doc, partners, report)
    await _apply_users(session, doc, partners, users, report)
    await apply_webhooks(
        session, [(p.name, partners[p.name], p.webhooks) for p in doc.partners], report
    )
    await _apply_stores(session, doc, partners, stores, report)
    await _apply_capacity_overrides(session, doc, stores, report)
    categories = await _apply_categories(session, doc.items, report)
    await _apply_items(session, doc.items, categories, products, report)
    await apply_restaurants(session, doc.restaurants, restaurants, stores, report)
    await apply_switches(session, doc, stores, report)
    await _apply_places(session, doc.places, report)
    await session.flush()
    return report


async def apply_file(database_url: str, raw: object, *, dry_run: bool = False) -> ApplyReport:
    """Parse ``raw``, migrate the database and apply the document in one transaction.

    An invalid document raises :class:`SetupInvalid` before the database is even opened. The
    transaction is rolled back on any error and on ``dry_run``; the engine is always disposed.
    """
    doc = parse_setup(raw)
    engine = create_engine(database_url, pool_size=1)
    try:
        await migrate(engine)
        async with create_sessionmaker(engine)() as session:
            try:
                report = await apply_setup(session, doc)
                if dry_run:
                    await session.rollback()
                else:
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise
    finally:
        await engine.dispose()
    report.dry_run = dry_run
    return report


# --- loading: one query per kind of entity --------------------------------------------------


async def _load_partners(session: AsyncSession, names: list[str]) -> dict[str, Organization]:
    if not names:
        return {}
    rows = await session.scalars(
        select(Organization).where(Organization.kind == PARTNER, Organization.key.in_(names))
    )
    return {org.key: org for org in rows}


_Owned = tuple[Any, str, str]  # (row, owner kind, owner key)


async def _load_users(session: AsyncSession, logins: list[str]) -> dict[str, _Owned]:
    if not logins:
        return {}
    rows = await session.execute(
        select(ApiUser, Organization.kind, Organization.key)
        .join(Organization, Organization.id == ApiUser.organization_id)
        .where(ApiUser.login.in_(logins))
    )
    return {user.login: (user, kind, key) for user, kind, key in rows}


async def _load_stores(session: AsyncSession, keys: list[str]) -> dict[str, _Owned]:
    if not keys:
        return {}
    rows = await session.execute(
        select(Location, Organization.kind, Organization.key)
        .join(Organization, Organization.id == Location.organization_id)
        .where(Location.key.in_(keys))
    )
    return {loc.key: (loc, kind, key) for loc, kind, key in rows}


_PRODUCT_COLUMNS = ("uid", "category_id", "name", "price", "currency", "services", "search_text")


async def _load_products(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Existing marketplace items by item id, as plain dicts (no ORM objects: catalogs are
    large)."""
    found: dict[int, dict[str, Any]] = {}
    columns = [getattr(Product, name) for name in _PRODUCT_COLUMNS]
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(Product.id, Product.item_id, *columns).where(Product.item_id.in_(chunk))
        )
        for row in rows.mappings():
            found[row["item_id"]] = dict(row)
    return found


def _ownership_errors(
    doc: SetupDocument,
    users: dict[str, _Owned],
    stores: dict[str, _Owned],
) -> list[SetupError]:
    errors: list[SetupError] = []
    for p_index, partner in enumerate(doc.partners):
        base = f"$.partners[{p_index}]"
        for index, user in enumerate(partner.users):
            if user.login in users:
                _, kind, key = users[user.login]
                if (kind, key) != (PARTNER, partner.name):
                    errors.append(
                        SetupError(
                            f"{base}.users[{index}].login",
                            f"login already belongs to {_owner(kind, key)}",
                        )
                    )
        for index, store in enumerate(partner.stores):
            if store.id in stores:
                _, kind, key = stores[store.id]
                if (kind, key) != (PARTNER, partner.name):
                    errors.append(
                        SetupError(
                            f"{base}.stores[{index}].id",
                            f"store id already belongs to {_owner(kind, key)}",
                        )
                    )
    return errors


# --- organizations, credentials, stores -----------------------------------------------------


async def _apply_partners(
    session: AsyncSession,
    doc: SetupDocument,
    partners: dict[str, Organization],
    report: ApplyReport,
) -> None:
    for spec in doc.partners:
        org = partners.get(spec.name)
        if org is None:
            org = Organization(kind=PARTNER, key=spec.name, title=spec.title, settings={})
            session.add(org)
            partners[spec.name] = org
            report.record(f"partner {spec.name}", created=True)
        else:
            report.record(f"partner {spec.name}", changed=assign(org, title=spec.title))
    await session.flush()


async def _apply_users(
    session: AsyncSession,
    doc: SetupDocument,
    partners: dict[str, Organization],
    users: dict[str, _Owned],
    report: ApplyReport,
) -> None:
    # argon2 is deliberately slow: hash and verify off the event loop.
    for partner in doc.partners:
        org = partners[partner.name]
        for spec in partner.users:
            label = f"user {spec.login}"
            if spec.login not in users:
                password_hash = await asyncio.to_thread(hash_password, spec.password)
                session.add(
                    ApiUser(organization_id=org.id, login=spec.login, password_hash=password_hash)
                )
                report.record(label, created=True)
                continue
            user: ApiUser = users[spec.login][0]
            if await asyncio.to_thread(password_matches, user.password_hash, spec.password):
                report.record(label)
            else:
                user.password_hash = await asyncio.to_thread(hash_password, spec.password)
                report.record(label, changed=True)


async def _apply_stores(
    session: AsyncSession,
    doc: SetupDocument,
    partners: dict[str, Organization],
    stores: dict[str, _Owned],
    report: ApplyReport,
) -> None:
    for partner in doc.partners:
        org = partners[partner.name]
        for spec in partner.stores:
            label = f"store {spec.id}"
            values = {
                "title": spec.title,
                "timezone": spec.timezone,
                "slot_capacity": dict(spec.masters),
            }
            if spec.id in stores:
                report.record(label, changed=assign(stores[spec.id][0], **values))
                continue
            location = Location(organization_id=org.id, key=spec.id, settings={}, **values)
            session.add(location)
            stores[spec.id] = (location, PARTNER, partner.name)
            report.record(label, created=True)
    await session.flush()


async def _apply_capacity_overrides(
    session: AsyncSession, doc: SetupDocument, stores: dict[str, _Owned], report: ApplyReport
) -> None:
    declared = [
        (stores[s.id][0].id, s.id, o) for p in doc.partners for s in p.stores for o in s.masters_on
    ]
    if not declared:
        return
    rows = await session.execute(
        select(
            CapacityOverride.location_id,
            CapacityOverride.day,
            CapacityOverride.slot,
            CapacityOverride.capacity,
        ).where(
            CapacityOverride.location_id.in_({loc_id for loc_id, _, _ in declared}),
            CapacityOverride.day.in_({o.date for _, _, o in declared}),
        )
    )
    existing = {(loc_id, day, slot): capacity for loc_id, day, slot, capacity in rows}
    changes: dict[int, list[tuple[date, str, int]]] = defaultdict(list)
    for loc_id, store_id, spec in declared:
        label = f"masters_on {store_id} {spec.date.isoformat()} {spec.timeslot}"
        current = existing.get((loc_id, spec.date, spec.timeslot))
        if current != spec.masters:
            changes[loc_id].append((spec.date, spec.timeslot, spec.masters))
        report.record(label, created=current is None, changed=current != spec.masters)
    now = utcnow()
    for loc_id, overrides in changes.items():
        await set_overrides(session, loc_id, overrides, actor=SETUP_ACTOR, now=now)


# --- catalog and gazetteer ------------------------------------------------------------------


async def _apply_categories(
    session: AsyncSession, items: list[ItemSpec], report: ApplyReport
) -> dict[str, int]:
    """The marketplace categories the items use, created as needed; uid → id."""
    uids = list(dict.fromkeys(item.category for item in items))
    if not uids:
        return {}
    rows = await session.scalars(
        select(Category).where(Category.organization_id.is_(None), Category.uid.in_(uids))
    )
    existing = {category.uid: category for category in rows}
    for uid in uids:
        category = existing.get(uid)
        if category is None:
            existing[uid] = Category(organization_id=None, uid=uid, name=uid)
            session.add(existing[uid])
            report.record(f"category {uid}", created=True)
        else:
            report.record(f"category {uid}", changed=assign(category, name=uid))
    await session.flush()
    return {uid: category.id for uid, category in existing.items()}


def _product_values(item: ItemSpec, category_id: int) -> dict[str, Any]:
    return {
        "uid": str(item.id),
        "category_id": category_id,
        "name": item.title,
        "price": 0,
        "currency": item.currency,
        "services": item.services,
        "search_text": fold(item.title),
    }


async def _apply_items(
    session: AsyncSession,
    items: list[ItemSpec],
    categories: dict[str, int],
    products: dict[int, dict[str, Any]],
    report: ApplyReport,
) -> None:
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for item in items:
        values = _product_values(item, categories[item.category])
        current = products.get(item.id)
        if current is None:
            inserts.append({"item_id": item.id, "organization_id": None, **values})
            report.record(f"item {item.id}", created=True)
        else:
            changed = any(current[name] != value for name, value in values.items())
            if changed:
                updates.append({"id": current["id"], "updated_at": now, **values})
            report.record(f"item {item.id}", changed=changed)
    for chunk in _chunks(inserts):
        await session.execute(insert(Product), list(chunk))
    for chunk in _chunks(updates):
        await session.execute(update(Product), list(chunk))


_PLACE_COLUMNS = (
    "street",
    "number",
    "city",
    "province",
    "zip",
    "country",
    "lat",
    "lng",
    "search_text",
)


def _place_values(place: PlaceSpec) -> dict[str, Any]:
    folded = fold(f"{place.street} {place.number} {place.city} {place.zip} {place.province}")
    return {
        "street": place.street,
        "number": place.number,
        "city": place.city,
        "province": place.province,
        "zip": place.zip,
        "country": place.country,
        "lat": place.lat,
        "lng": place.lng,
        "search_text": folded,
    }


async def _apply_places(
    session: AsyncSession, places: list[PlaceSpec], report: ApplyReport
) -> None:
    existing: dict[str, dict[str, Any]] = {}
    columns = [getattr(Place, name) for name in _PLACE_COLUMNS]
    for ids in _chunks([place.place_id for place in places]):
        rows = await session.execute(
            select(Place.place_id, *columns).where(Place.place_id.in_(ids))
        )
        existing.update((row["place_id"], dict(row)) for row in rows.mappings())
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for place in places:
        values = _place_values(place)
        current = existing.get(place.place_id)
        label = f"place {place.place_id}"
        if current is None:
            inserts.append({"place_id": place.place_id, **values})
            report.record(label, created=True)
        else:
            changed = any(current[name] != value for name, value in values.items())
            if changed:
                updates.append({"place_id": place.place_id, "updated_at": now, **values})
            report.record(label, changed=changed)
    for chunk in _chunks(inserts):
        await session.execute(insert(Place), list(chunk))
    for chunk in _chunks(updates):
        await session.execute(update(Place), list(chunk))
