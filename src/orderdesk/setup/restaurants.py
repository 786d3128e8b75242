"""Applying the ``restaurants`` sections of a setup document.

Same guarantees as the partner sections (:mod:`orderdesk.setup.apply`): entities are matched by
their ids and updated in place, a column is written only when its value differs (a second apply
changes no row), rows the document does not mention are left alone, nothing is committed, and
ownership conflicts are reported by :func:`ownership_errors` before the first write.

Matching: restaurant by ``uid`` (an organization of kind ``restaurant``); API keys by their
SHA-256 (only the hash is stored; a declared key that was revoked is reinstated); clients by
``client_id`` (the argon2id secret hash is recomputed only when the document's secret no longer
matches it); webhooks by URL; subrestaurants by uid (a location); zones by name; the menu through
:func:`orderdesk.core.catalog.importer.import_menu` by uid in ``update`` mode; coupons by their
upper-cased code; generators by upper-cased gencode.

``settings`` of the organization and of its locations are merged: the document's keys are written,
keys set by other parts of the system are kept.

Coupon ``quantity`` counts the uses still left and goes down as orders use the coupon, so
re-applying an unchanged document must not refill it. The document's quantity is therefore
written when the coupon is created and afterwards only when the document's value differs from the
value it had at the last apply. That value is remembered in the restaurant's
``Organization.settings["applied_coupon_quantities"]`` (``{CODE: quantity or null}``), so raising
``quantity`` from 100 to 200 in the file sets 200 uses left, while re-applying 100 leaves the
97 left alone.

Catalog rows are loaded one query per kind per restaurant (the menu import works on one
organization); everything else one query per kind for the whole document.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.importer import (
    CategoryInput,
    ImportReport,
    OptionInput,
    OptionValueInput,
    ProductInput,
    import_menu,
)
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.fulfilment.models import DeliveryZone
from orderdesk.core.organizations.models import (
    ApiClient,
    ApiKey,
    Location,
    Organization,
)
from orderdesk.core.organizations.service import hash_password, password_matches, token_digest
from orderdesk.core.pricing.models import Coupon, CouponGenerator
from orderdesk.db.base import utcnow
from orderdesk.setup.rows import assign
from orderdesk.setup.schema import (
    CategorySpec,
    OptionSpec,
    ProductSpec,
    RestaurantSpec,
    SetupError,
    SetupInvalid,
)
from orderdesk.setup.webhooks import apply_webhooks

if TYPE_CHECKING:
    from orderdesk.setup.apply import ApplyReport

RESTAURANT = "restaurant"
APPLIED_QUANTITIES = "applied_coupon_quantities"

Owned = tuple[Any, str, str]  # (row, owner kind, owner key)


@dataclass
class LoadedRestaurants:
    """What already exists of the document's restaurants and their server-wide credentials."""

    organizations: dict[str, Organization]
    api_keys: dict[str, Owned]  # by key hash
    clients: dict[str, Owned]  # by client_id


def _owner(kind: str, key: str) -> str:
    return f'{kind} "{key}"'


async def load_restaurants(
    session: AsyncSession, restaurants: list[RestaurantSpec]
) -> LoadedRestaurants:
    """Existing organizations, API keys and clients the document names (one query each)."""
    loaded = LoadedRestaurants({}, {}, {})
    if not restaurants:
        return loaded
    orgs = await session.scalars(
        select(Organization).where(
            Organization.kind == RESTAURANT, Organization.key.in_([r.uid for r in restaurants])
        )
    )
    loaded.organizations = {org.key: org for org in orgs}
    hashes = [token_digest(k) for r in restaurants for k in r.api_keys]
    if hashes:
        rows = await session.execute(
            select(ApiKey, Organization.kind, Organization.key)
            .join(Organization, Organization.id == ApiKey.organization_id)
            .where(ApiKey.key_hash.in_(hashes))
        )
        loaded.api_keys = {key.key_hash: (key, kind, owner) for key, kind, owner in rows}
    client_ids = [c.client_id for r in restaurants for c in r.clients]
    if client_ids:
        clients = await session.execute(
            select(ApiClient, Organization.kind, Organization.key)
            .join(Organization, Organization.id == ApiClient.organization_id)
            .where(ApiClient.client_id.in_(client_ids))
        )
        loaded.clients = {c.client_id: (c, kind, owner) for c, kind, owner in clients}
    return loaded


def ownership_errors(
    restaurants: list[RestaurantSpec], loaded: LoadedRestaurants, locations: dict[str, Owned]
) -> list[SetupError]:
    """Subrestaurant uids, API keys and client ids that belong to another organization."""
    errors: list[SetupError] = []
    for r_index, restaurant in enumerate(restaurants):
        base = f"$.restaurants[{r_index}]"
        mine = (RESTAURANT, restaurant.uid)
        for index, sub in enumerate(restaurant.subrestaurants):
            if sub.uid in locations and locations[sub.uid][1:] != mine:
                _, kind, key = locations[sub.uid]
                errors.append(
                    SetupError(
                        f"{base}.subrestaurants[{index}].uid",
                        f"uid is already a location of {_owner(kind, key)}",
                    )
                )
        for index, api_key in enumerate(restaurant.api_keys):
            found = loaded.api_keys.get(token_digest(api_key))
            if found is not None and found[1:] != mine:
                errors.append(
                    SetupError(
                        f"{base}.api_keys[{index}]",
                        f"API key already belongs to {_owner(*found[1:])}",
                    )
                )
        for index, client in enumerate(restaurant.clients):
            found = loaded.clients.get(client.client_id)
            if found is not None and found[1:] != mine:
                errors.append(
                    SetupError(
                        f"{base}.clients[{index}].client_id",
                        f"client_id already belongs to {_owner(*found[1:])}",
                    )
                )
    return errors


async def apply_restaurants(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    loaded: LoadedRestaurants,
    locations: dict[str, Owned],
    report: ApplyReport,
) -> None:
    """Upsert every restaurant section; ``locations`` gains the subrestaurants created."""
    if not restaurants:
        return
    previous_quantities = await _apply_organizations(session, restaurants, loaded, report)
    orgs = loaded.organizations
    _apply_api_keys(session, restaurants, loaded, report)
    await _apply_clients(session, restaurants, loaded, report)
    await apply_webhooks(session, [(r.uid, orgs[r.uid], r.webhooks) for r in restaurants], report)
    await _apply_locations(session, restaurants, orgs, locations, report)
    await _apply_zones(session, restaurants, orgs, locations, report)
    for index, restaurant in enumerate(restaurants):
        await _apply_menu(
            session, f"$.restaurants[{index}]", restaurant, orgs[restaurant.uid], report
        )
    await _apply_coupons(session, restaurants, orgs, previous_quantities, report)
    await _apply_generators(session, restaurants, orgs, report)
    await session.flush()


async def _apply_organizations(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    loaded: LoadedRestaurants,
    report: ApplyReport,
) -> dict[str, dict[str, int | None]]:
    """Upsert the organizations; returns each one's coupon quantities of the last apply."""
    previous: dict[str, dict[str, int | None]] = {}
    for spec in restaurants:
        org = loaded.organizations.get(spec.uid)
        current = dict(org.settings) if org is not None else {}
        previous[spec.uid] = dict(current.get(APPLIED_QUANTITIES) or {})
        quantities = {
            **previous[spec.uid],
            **{coupon.code.upper(): coupon.quantity for coupon in spec.coupons},
        }
        settings = {**current, **spec.settings(), APPLIED_QUANTITIES: quantities}
        label = f"restaurant {spec.uid}"
        if org is None:
            org = Organization(kind=RESTAURANT, key=spec.uid, title=spec.name, settings=settings)
            session.add(org)
            loaded.organizations[spec.uid] = org
            report.record(label, created=True)
        else:
            report.record(label, changed=assign(org, title=spec.name, settings=settings))
    await session.flush()
    return previous


def _apply_api_keys(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    loaded: LoadedRestaurants,
    report: ApplyReport,
) -> None:
    now = utcnow()
    for spec in restaurants:
        org = loaded.organizations[spec.uid]
        for api_key in spec.api_keys:
            digest = token_digest(api_key)
            label = f"api_key {spec.uid}/{digest[:8]}"  # never the key itself
            found = loaded.api_keys.get(digest)
            if found is None:
                session.add(
                    ApiKey(organization_id=org.id, key_hash=digest, created_at=now, revoked_at=None)
                )
                report.record(label, created=True)
            else:
                report.record(label, changed=assign(found[0], revoked_at=None))


async def _apply_clients(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    loaded: LoadedRestaurants,
    report: ApplyReport,
) -> None:
    # argon2 is deliberately slow: hash and verify off the event loop.
    for spec in restaurants:
        org = loaded.organizations[spec.uid]
        for client in spec.clients:
            label = f"client {client.client_id}"
            scopes = list(client.scopes)
            found = loaded.clients.get(client.client_id)
            if found is None:
                secret_hash = await asyncio.to_thread(hash_password, client.client_secret)
                session.add(
                    ApiClient(
                        organization_id=org.id,
                        client_id=client.client_id,
                        secret_hash=secret_hash,
                        scopes=scopes,
                        active=client.active,
                    )
                )
                report.record(label, created=True)
                continue
            row: ApiClient = found[0]
            changed = assign(row, scopes=scopes, active=client.active)
            if not await asyncio.to_thread(password_matches, row.secret_hash, client.client_secret):
                row.secret_hash = await asyncio.to_thread(hash_password, client.client_secret)
                changed = True
            report.record(label, changed=changed)


async def _apply_locations(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    orgs: dict[str, Organization],
    locations: dict[str, Owned],
    report: ApplyReport,
) -> None:
    for spec in restaurants:
        org = orgs[spec.uid]
        for sub in spec.subrestaurants:
            label = f"subrestaurant {sub.uid}"
            found = locations.get(sub.uid)
            if found is None:
                location = Location(
                    organization_id=org.id,
                    key=sub.uid,
                    title=sub.name,
                    timezone=spec.timezone,
                    slot_capacity={},
                    settings=sub.settings(),
                )
                session.add(location)
                locations[sub.uid] = (location, RESTAURANT, spec.uid)
                report.record(label, created=True)
                continue
            row: Location = found[0]
            settings = {**row.settings, **sub.settings()}
            report.record(
                label,
                changed=assign(
                    row, title=sub.name, timezone=spec.timezone, slot_capacity={}, settings=settings
                ),
            )
    await session.flush()


async def _apply_zones(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    orgs: dict[str, Organization],
    locations: dict[str, Owned],
    report: ApplyReport,
) -> None:
    org_ids = [orgs[r.uid].id for r in restaurants if r.zones]
    if not org_ids:
        return
    rows = await session.scalars(
        select(DeliveryZone).where(DeliveryZone.organization_id.in_(org_ids))
    )
    existing = {(zone.organization_id, zone.name): zone for zone in rows}
    for spec in restaurants:
        org = orgs[spec.uid]
        for position, zone_spec in enumerate(spec.zones):
            label = f"zone {spec.uid}/{zone_spec.name}"
            values = {
                "location_id": locations[zone_spec.subrestaurant_uid][0].id,
                "position": position,
                "fee": zone_spec.fee,
                "order_min": zone_spec.order_min,
                "polygon": zone_spec.polygon,
                "radius_km": zone_spec.radius_km,
            }
            zone = existing.get((org.id, zone_spec.name))
            if zone is None:
                session.add(DeliveryZone(organization_id=org.id, name=zone_spec.name, **values))
                report.record(label, created=True)
            else:
                report.record(label, changed=assign(zone, **values))


# --- menu -----------------------------------------------------------------------------------


def _option_input(spec: OptionSpec) -> OptionInput:
    return OptionInput(
        uid=spec.uid,
        ext_id=spec.ext_id,
        name=spec.name,
        short_name=spec.short_name,
        type=spec.type,
        min_selectable=spec.min_selectable,
        max_selectable=spec.max_selectable,
        max_quantity=spec.max_quantity,
        hidden=spec.hidden,
        position=spec.position,
        values=[
            OptionValueInput(
                uid=v.uid,
                ext_id=v.ext_id,
                name=v.name,
                short_name=v.short_name,
                price_operator=v.price_operator,
                price_operand=v.price_operand,
                hidden=v.hidden,
                position=v.position,
                checked_default=v.checked_default,
            )
            for v in spec.option_values
        ],
    )


def _category_input(spec: CategorySpec) -> CategoryInput:
    return CategoryInput(
        uid=spec.uid,
        ext_id=spec.ext_id,
        name=spec.name,
        description=spec.description,
        image=spec.image,
        hidden=spec.hidden,
        position=spec.position,
        location_keys=spec.subrestaurant_uids,
    )


def _product_input(spec: ProductSpec) -> ProductInput:
    return ProductInput(
        uid=spec.uid,
        ext_id=spec.ext_id,
        category=spec.category_uid,
        name=spec.name,
        description=spec.ingredients,
        price=spec.price,
        hidden=spec.hidden,
        available=spec.available,
        position=spec.position,
        image=spec.image,
        location_keys=spec.subrestaurant_uids,
        options=[_option_input(option) for option in spec.options],
    )


# The importer names its inputs in the core's terms; the document's names for the same fields.
_DOCUMENT_NAMES = {
    "category": "category_uid",
    "location_keys": "subrestaurant_uids",
    "values": "option_values",
}


async def _apply_menu(
    session: AsyncSession,
    base: str,
    spec: RestaurantSpec,
    org: Organization,
    report: ApplyReport,
) -> None:
    if not spec.categories and not spec.products:
        return
    try:
        menu = await import_menu(
            session,
            org.id,
            spec.currency,
            [_category_input(c) for c in spec.categories],
            [_product_input(p) for p in spec.products],
            key="uid",
            mode="update",
        )
    except ValidationFailed as exc:
        # parse_setup already enforces these rules; kept so a gap surfaces with its path.
        raise SetupInvalid(
            [
                SetupError(f"{base}.{_document_path(error.path)}", error.message)
                for error in exc.errors
            ]
        ) from exc
    _merge(menu, spec.uid, report)


def _document_path(path: str) -> str:
    for core, document in _DOCUMENT_NAMES.items():
        path = path.replace(f".{core}", f".{document}")
    return path


def _merge(menu: ImportReport, restaurant: str, report: ApplyReport) -> None:
    """Import labels (``"product margherita"``) as apply labels (``"product bella/margherita"``)."""

    def scoped(label: str) -> str:
        kind, key = label.split(" ", 1)
        return f"{kind} {restaurant}/{key}"

    report.created.extend(map(scoped, menu.created))
    report.updated.extend(map(scoped, menu.updated))
    report.unchanged.extend(map(scoped, menu.unchanged))


# --- coupons --------------------------------------------------------------------------------


async def _apply_coupons(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    orgs: dict[str, Organization],
    previous: dict[str, dict[str, int | None]],
    report: ApplyReport,
) -> None:
    org_ids = [orgs[r.uid].id for r in restaurants if r.coupons]
    if not org_ids:
        return
    codes = {c.code.upper() for r in restaurants for c in r.coupons}
    rows = await session.scalars(
        select(Coupon).where(Coupon.organization_id.in_(org_ids), Coupon.code.in_(codes))
    )
    existing = {(coupon.organization_id, coupon.code): coupon for coupon in rows}
    for spec in restaurants:
        org = orgs[spec.uid]
        for coupon_spec in spec.coupons:
            code = coupon_spec.code.upper()
            label = f"coupon {spec.uid}/{code}"
            values: dict[str, Any] = {
                "discount_perc": coupon_spec.discount_perc,
                "discount_amount": coupon_spec.discount_amount,
                "order_min": coupon_spec.order_min,
                "valid_from": coupon_spec.valid_from,
                "valid_to": coupon_spec.valid_to,
                "valid_weekdays": coupon_spec.iso_weekdays,
                "valid_email": coupon_spec.valid_email,
            }
            coupon = existing.get((org.id, code))
            if coupon is None:
                session.add(
                    Coupon(
                        organization_id=org.id, code=code, quantity=coupon_spec.quantity, **values
                    )
                )
                report.record(label, created=True)
                continue
            applied = previous[spec.uid]
            if code not in applied or applied[code] != coupon_spec.quantity:
                values["quantity"] = coupon_spec.quantity
            report.record(label, changed=assign(coupon, **values))


async def _apply_generators(
    session: AsyncSession,
    restaurants: list[RestaurantSpec],
    orgs: dict[str, Organization],
    report: ApplyReport,
) -> None:
    org_ids = [orgs[r.uid].id for r in restaurants if r.coupon_generators]
    if not org_ids:
        return
    rows = await session.scalars(
        select(CouponGenerator).where(CouponGenerator.organization_id.in_(org_ids))
    )
    existing = {(g.organization_id, g.gencode): g for g in rows}
    for spec in restaurants:
        org = orgs[spec.uid]
        for generator_spec in spec.coupon_generators:
            gencode = generator_spec.gencode.upper()
            label = f"generator {spec.uid}/{gencode}"
            values = {
                "discount_perc": generator_spec.discount_perc,
                "discount_amount": generator_spec.discount_amount,
                "order_min": generator_spec.order_min,
                "valid_days": generator_spec.valid_days,
            }
            generator = existing.get((org.id, gencode))
            if generator is None:
                session.add(CouponGenerator(organization_id=org.id, gencode=gencode, **values))
                report.record(label, created=True)
            else:
                report.record(label, changed=assign(generator, **values))
