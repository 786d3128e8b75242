"""Upserting a restaurant's menu: one routine for the setup document and ``POST /api/menu/import``.

:func:`import_menu` takes categories and products (with their options and option values) as plain
dataclasses and makes the organization's catalog match them. Guarantees:

* **Matching.** With ``key="uid"`` (the setup document) rows are matched by ``uid``: categories
  and products within the organization, options within the organization (an option may move to
  another product), values within their option. With ``key="ext_id"`` (a POS menu import) rows are
  matched by ``ext_id`` instead: categories and products within the organization, options within
  the product or category that carries them, values within their option. If several rows share an
  ``ext_id`` the oldest (lowest id) is the match.
* **Generated uids.** With ``key="ext_id"`` the input ``uid`` is ignored. A matched row keeps its
  uid; a new row gets :func:`uid_for_ext_id`: the ``ext_id`` itself when it is a valid uid
  (:data:`UID_PATTERN`), else an ASCII slug of it plus 8 hex digits of its SHA-256 (``"Pizza
  Nr. 1"`` → ``"pizza-nr-1-28cd3340"``), so the same ``ext_id`` gives the same uid on every server.
  Only when that uid is already taken by another row of the same scope is ``-2``, ``-3``, ... added.
* **Compare before write.** A column is written only when its value differs, so importing the same
  menu twice changes no row, not even ``updated_at``. Products keep ``search_text = fold(name)``.
* **Nothing is deleted.** ``mode="replace"`` sets ``hidden`` on the organization's categories,
  products, options and values that the input no longer has (past orders point at them);
  ``mode="update"`` leaves them alone. An entity that comes back is shown again by its own
  ``hidden`` value.
* **Validation first.** Rules that need the database or span entities (duplicate keys, a product's
  category that exists neither in the input nor in the catalog, unknown location keys) are all
  checked before the first write and raised together as :class:`ValidationFailed`; paths name the
  input (``products[3].category``, ``products[0].options[1].values[2].ext_id``) for the caller to
  translate into its own wire names. Everything else (lengths, ranges, ``single`` ⇒ one value) is
  the caller's edge validation.
* **Cost.** One query per entity kind loads the organization's rows (plus one for its locations
  when location keys are given); inserts are bulk ``INSERT ... RETURNING`` and updates bulk
  ``UPDATE`` by primary key. Nothing is committed; the caller owns the transaction. The statements
  bypass the session's identity map, so ORM objects of these rows loaded earlier are stale.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Category, OptionValue, Product, ProductOption
from orderdesk.core.catalog.search import fold
from orderdesk.core.errors import FieldError, ValidationFailed
from orderdesk.core.organizations.models import Location
from orderdesk.db.base import utcnow

KeyField = Literal["uid", "ext_id"]
ImportMode = Literal["update", "replace"]
PriceOperator = Literal["+", "-", "="]
OptionType = Literal["single", "multiple"]

UID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,99}")
"""What a uid may look like: URL-safe without escaping (uids travel in query strings)."""

_HASH_DIGITS = 8
_MAX_UID = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionValueInput:
    """One selectable value of an option. ``position`` ``None``: its index in the option."""

    uid: str | None = None
    ext_id: str | None = None
    name: str
    short_name: str = ""
    price_operator: PriceOperator = "+"
    price_operand: int = 0
    hidden: bool = False
    position: int | None = None
    checked_default: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionInput:
    """An option of a product or category. ``position`` ``None``: its index in the owner."""

    uid: str | None = None
    ext_id: str | None = None
    name: str
    short_name: str = ""
    type: OptionType = "multiple"
    min_selectable: int = 0
    max_selectable: int = 1
    max_quantity: int = 1
    hidden: bool = False
    position: int | None = None
    values: Sequence[OptionValueInput] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryInput:
    """A menu category. ``location_keys`` empty: sold at every location of the organization."""

    uid: str | None = None
    ext_id: str | None = None
    name: str
    description: str = ""
    image: str | None = None
    hidden: bool = False
    position: int | None = None
    location_keys: Sequence[str] = ()
    options: Sequence[OptionInput] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductInput:
    """A product. ``category`` is its category's key (a uid or an ext_id, like ``key``), found
    among the input's categories or the organization's existing ones; ``None``: no category.
    ``description`` is the restaurant wire's ``ingredients``; ``price`` is in minor units."""

    uid: str | None = None
    ext_id: str | None = None
    category: str | None = None
    name: str
    description: str = ""
    price: int
    hidden: bool = False
    available: bool = True
    position: int | None = None
    image: str | None = None
    location_keys: Sequence[str] = ()
    options: Sequence[OptionInput] = ()


@dataclass
class ImportReport:
    """One ``"<kind> <uid>"`` entry per entity (kinds ``category``, ``product``, ``option``,
    ``option_value``; values are ``"option_value <option uid>/<value uid>"``). ``hidden`` lists
    what ``replace`` hid; every input entity is in exactly one of the other three lists."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)

    def record(self, label: str, *, created: bool, changed: bool) -> None:
        if created:
            self.created.append(label)
        elif changed:
            self.updated.append(label)
        else:
            self.unchanged.append(label)


def uid_for_ext_id(ext_id: str, taken: set[str]) -> str:
    """The uid of a new row imported by ``ext_id`` (see the module notes); adds it to ``taken``."""
    if UID_PATTERN.fullmatch(ext_id):
        base = ext_id
    else:
        digest = hashlib.sha256(ext_id.encode()).hexdigest()[:_HASH_DIGITS]
        stem = re.sub(r"[^a-z0-9]+", "-", fold(ext_id)).strip("-")
        stem = stem[: _MAX_UID - _HASH_DIGITS - 4].rstrip("-")
        base = f"{stem}-{digest}" if stem else digest
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = base[: _MAX_UID - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate


# --- columns compared and written, per kind -------------------------------------------------

_CATEGORY_COLUMNS = (
    "ext_id",
    "name",
    "description",
    "image",
    "hidden",
    "position",
    "location_keys",
)
_PRODUCT_COLUMNS = (
    "ext_id",
    "category_id",
    "name",
    "description",
    "price",
    "currency",
    "hidden",
    "available",
    "position",
    "image",
    "location_keys",
    "search_text",
)
_OPTION_COLUMNS = (
    "ext_id",
    "product_id",
    "category_id",
    "name",
    "short_name",
    "type",
    "min_selectable",
    "max_selectable",
    "max_quantity",
    "hidden",
    "position",
)
_VALUE_COLUMNS = (
    "ext_id",
    "name",
    "short_name",
    "price_operator",
    "price_operand",
    "hidden",
    "position",
    "checked_default",
)

_Row = dict[str, Any]


@dataclass
class _Catalog:
    """The organization's existing rows, as plain dicts (one query per kind)."""

    categories: list[_Row]
    products: list[_Row]
    options: list[_Row]
    values: list[_Row]


async def _load_catalog(session: AsyncSession, organization_id: int) -> _Catalog:
    def columns(model: Any, names: Iterable[str]) -> list[Any]:
        return [model.id, model.uid, *(getattr(model, name) for name in names)]

    async def rows(stmt: Any) -> list[_Row]:
        return [dict(row) for row in (await session.execute(stmt)).mappings()]

    return _Catalog(
        categories=await rows(
            select(*columns(Category, _CATEGORY_COLUMNS))
            .where(Category.organization_id == organization_id)
            .order_by(Category.id)
        ),
        products=await rows(
            select(*columns(Product, _PRODUCT_COLUMNS))
            .where(Product.organization_id == organization_id)
            .order_by(Product.id)
        ),
        options=await rows(
            select(*columns(ProductOption, _OPTION_COLUMNS))
            .where(ProductOption.organization_id == organization_id)
            .order_by(ProductOption.id)
        ),
        values=await rows(
            select(OptionValue.option_id, *columns(OptionValue, _VALUE_COLUMNS))
            .join(ProductOption, ProductOption.id == OptionValue.option_id)
            .where(ProductOption.organization_id == organization_id)
            .order_by(OptionValue.id)
        ),
    )


# --- validation -----------------------------------------------------------------------------


def _owned_options(
    categories: Sequence[CategoryInput], products: Sequence[ProductInput]
) -> Iterator[tuple[str, Sequence[OptionInput]]]:
    for index, category in enumerate(categories):
        yield f"categories[{index}]", category.options
    for index, product in enumerate(products):
        yield f"products[{index}]", product.options


def _check_keys(
    entities: Sequence[Any],
    path: str,
    key: KeyField,
    seen: dict[str, str],
    errors: list[FieldError],
) -> None:
    for index, entity in enumerate(entities):
        value = getattr(entity, key)
        at = f"{path}[{index}].{key}"
        if not value:
            errors.append(FieldError(at, "required", f"{key} is required to match the catalog"))
            continue
        first = seen.setdefault(value, at)
        if first != at:
            errors.append(
                FieldError(at, "conflict", f"duplicate {key} {value}; first used at {first}")
            )


def _validate(
    categories: Sequence[CategoryInput],
    products: Sequence[ProductInput],
    key: KeyField,
    existing_categories: set[str],
    locations: set[str] | None,
) -> None:
    errors: list[FieldError] = []
    _check_keys(categories, "categories", key, {}, errors)
    _check_keys(products, "products", key, {}, errors)
    org_wide: dict[str, str] = {}  # option uids are unique per organization
    for path, options in _owned_options(categories, products):
        _check_keys(options, f"{path}.options", key, org_wide if key == "uid" else {}, errors)
        for index, option in enumerate(options):
            _check_keys(option.values, f"{path}.options[{index}].values", key, {}, errors)
    declared = {getattr(c, key) for c in categories}
    for index, product in enumerate(products):
        if product.category is not None and product.category not in declared | existing_categories:
            errors.append(
                FieldError(
                    f"products[{index}].category",
                    "not_found",
                    f"no category with {key} {product.category}",
                )
            )
    if locations is not None:
        entities: list[tuple[str, Sequence[CategoryInput | ProductInput]]] = [
            ("categories", categories),
            ("products", products),
        ]
        for section, items in entities:
            for index, item in enumerate(items):
                for k, location in enumerate(item.location_keys):
                    if location not in locations:
                        errors.append(
                            FieldError(
                                f"{section}[{index}].location_keys[{k}]",
                                "not_found",
                                f"no location {location}",
                            )
                        )
    if errors:
        raise ValidationFailed(errors=errors)


# --- writing --------------------------------------------------------------------------------


def _position(position: int | None, index: int) -> int:
    return index if position is None else position


def _first_by(rows: Iterable[_Row], match: Callable[[_Row], Any]) -> dict[Any, _Row]:
    """Rows by their match key (``None``: never matched); rows come ordered by id, so the oldest
    row wins a shared ``ext_id``."""
    found: dict[Any, _Row] = {}
    for row in rows:
        value = match(row)
        if value is not None:
            found.setdefault(value, row)
    return found


class _Writer:
    """Collects the inserts and updates of one kind and runs each group as one bulk statement."""

    def __init__(
        self,
        session: AsyncSession,
        model: Any,
        report: ImportReport,
        identity: tuple[str, ...] = ("uid",),
    ) -> None:
        self.session = session
        self.model = model
        self.report = report
        self.identity = identity  # columns that identify an inserted row (unique together)
        self.inserts: list[_Row] = []
        self.updates: list[_Row] = []
        self.matched: set[int] = set()
        self.now = utcnow()

    def upsert(self, label: str, current: _Row | None, values: _Row, new: _Row) -> None:
        """Queue the row; ``values`` are the compared columns, ``new`` what only an insert sets
        (it holds the identity columns)."""
        if current is None:
            self.inserts.append({**new, **values})
            self.report.record(label, created=True, changed=True)
            return
        self.matched.add(current["id"])
        changed = any(current[name] != value for name, value in values.items())
        if changed:
            self.updates.append({"id": current["id"], "updated_at": self.now, **values})
        self.report.record(label, created=False, changed=changed)

    def hide_unmatched(self, rows: Iterable[_Row], label: Callable[[_Row], str]) -> None:
        """``replace`` mode: hide every row of the organization the input did not match."""
        for row in rows:
            if row["id"] not in self.matched and not row["hidden"]:
                self.updates.append({"id": row["id"], "hidden": True, "updated_at": self.now})
                self.report.hidden.append(label(row))

    async def flush(self) -> dict[tuple[Any, ...], int]:
        """Run the queued statements; the ids of the inserted rows by their identity.

        RETURNING the identity rather than relying on row order keeps the insert one batched
        statement on SQLite too (ordered RETURNING would fall back to a statement per row).
        """
        ids: dict[tuple[Any, ...], int] = {}
        if self.inserts:
            columns = [getattr(self.model, name) for name in self.identity]
            result = await self.session.execute(
                insert(self.model).returning(self.model.id, *columns), self.inserts
            )
            ids = {tuple(row[1:]): row[0] for row in result}
        if self.updates:
            await self.session.execute(update(self.model), self.updates)
        return ids


class _MenuImport:
    """The state of one :func:`import_menu` call."""

    def __init__(
        self,
        session: AsyncSession,
        organization_id: int,
        catalog: _Catalog,
        key: KeyField,
        mode: ImportMode,
        report: ImportReport,
    ) -> None:
        self.session = session
        self.organization_id = organization_id
        self.catalog = catalog
        self.key: KeyField = key
        self.mode = mode
        self.report = report

    def uid(self, spec: Any, current: _Row | None, taken: set[str]) -> str:
        if current is not None:
            return str(current["uid"])
        if self.key == "uid":
            return str(spec.uid)
        return uid_for_ext_id(spec.ext_id, taken)

    async def categories(self, categories: Sequence[CategoryInput]) -> dict[str, int]:
        """Upsert the categories; every category key, in the input or the catalog → id."""
        rows = self.catalog.categories
        existing = _first_by(rows, lambda row: row[self.key])
        taken = {row["uid"] for row in rows}
        writer = _Writer(self.session, Category, self.report)
        pending: dict[str, str] = {}  # uid of a new row → its match key
        for index, spec in enumerate(categories):
            match: str = getattr(spec, self.key)
            current = existing.get(match)
            uid = self.uid(spec, current, taken)
            values = {
                "ext_id": spec.ext_id,
                "name": spec.name,
                "description": spec.description,
                "image": spec.image,
                "hidden": spec.hidden,
                "position": _position(spec.position, index),
                "location_keys": list(spec.location_keys),
            }
            new = {"organization_id": self.organization_id, "uid": uid}
            writer.upsert(f"category {uid}", current, values, new)
            if current is None:
                pending[uid] = match
        if self.mode == "replace":
            writer.hide_unmatched(rows, lambda row: f"category {row['uid']}")
        inserted = await writer.flush()
        ids = {match: row["id"] for match, row in existing.items()}
        ids.update((match, inserted[(uid,)]) for uid, match in pending.items())
        return ids

    async def products(
        self, products: Sequence[ProductInput], category_ids: dict[str, int], currency: str
    ) -> list[int]:
        """Upsert the products; their ids in input order."""
        rows = self.catalog.products
        existing = _first_by(rows, lambda row: row[self.key])
        taken = {row["uid"] for row in rows}
        writer = _Writer(self.session, Product, self.report)
        ids: list[int] = []
        pending: dict[str, int] = {}  # uid of a new row → its index in the input
        for index, spec in enumerate(products):
            current = existing.get(getattr(spec, self.key))
            uid = self.uid(spec, current, taken)
            values = {
                "ext_id": spec.ext_id,
                "category_id": None if spec.category is None else category_ids[spec.category],
                "name": spec.name,
                "description": spec.description,
                "price": spec.price,
                "currency": currency,
                "hidden": spec.hidden,
                "available": spec.available,
                "position": _position(spec.position, index),
                "image": spec.image,
                "location_keys": list(spec.location_keys),
                "search_text": fold(spec.name),
            }
            new = {"organization_id": self.organization_id, "uid": uid}
            writer.upsert(f"product {uid}", current, values, new)
            ids.append(0 if current is None else current["id"])  # 0: set once inserted
            if current is None:
                pending[uid] = index
        if self.mode == "replace":
            writer.hide_unmatched(rows, lambda row: f"product {row['uid']}")
        inserted = await writer.flush()
        for uid, index in pending.items():
            ids[index] = inserted[(uid,)]
        return ids

    async def options(
        self, owned: list[tuple[str, int, Sequence[OptionInput]]]
    ) -> list[tuple[int, str, Sequence[OptionValueInput]]]:
        """Upsert the options of each ``(owner column, owner id, options)``; for every input
        option, in order: its id, its uid and its values."""
        rows = self.catalog.options
        taken = {row["uid"] for row in rows}
        if self.key == "uid":
            existing = _first_by(rows, lambda row: row["uid"])
        else:  # an ext_id names an option within the product or category that carries it
            existing = _first_by(
                rows,
                lambda row: (
                    None
                    if row["ext_id"] is None
                    else (row["product_id"], row["category_id"], row["ext_id"])
                ),
            )
        writer = _Writer(self.session, ProductOption, self.report)
        result: list[tuple[int, str, Sequence[OptionValueInput]]] = []
        pending: dict[str, int] = {}  # uid of a new option → its index in ``result``
        for column, owner_id, options in owned:
            owner = {
                "product_id": owner_id if column == "product_id" else None,
                "category_id": owner_id if column == "category_id" else None,
            }
            for index, spec in enumerate(options):
                current = existing.get(
                    spec.uid
                    if self.key == "uid"
                    else (owner["product_id"], owner["category_id"], spec.ext_id)
                )
                uid = self.uid(spec, current, taken)
                values = {
                    **owner,
                    "ext_id": spec.ext_id,
                    "name": spec.name,
                    "short_name": spec.short_name,
                    "type": spec.type,
                    "min_selectable": spec.min_selectable,
                    "max_selectable": spec.max_selectable,
                    "max_quantity": spec.max_quantity,
                    "hidden": spec.hidden,
                    "position": _position(spec.position, index),
                }
                new = {"organization_id": self.organization_id, "uid": uid}
                writer.upsert(f"option {uid}", current, values, new)
                result.append((0 if current is None else current["id"], uid, spec.values))
                if current is None:
                    pending[uid] = len(result) - 1
        if self.mode == "replace":
            writer.hide_unmatched(rows, lambda row: f"option {row['uid']}")
        inserted = await writer.flush()
        for uid, index in pending.items():
            result[index] = (inserted[(uid,)], uid, result[index][2])
        return result

    async def values(self, options: list[tuple[int, str, Sequence[OptionValueInput]]]) -> None:
        rows = self.catalog.values
        option_uids = {row["id"]: row["uid"] for row in self.catalog.options}
        option_uids.update((option_id, uid) for option_id, uid, _ in options)
        existing = _first_by(
            rows, lambda row: None if row[self.key] is None else (row["option_id"], row[self.key])
        )
        taken: dict[int, set[str]] = defaultdict(set)
        for row in rows:
            taken[row["option_id"]].add(row["uid"])
        writer = _Writer(self.session, OptionValue, self.report, ("option_id", "uid"))
        for option_id, option_uid, values in options:
            for index, spec in enumerate(values):
                current = existing.get((option_id, getattr(spec, self.key)))
                uid = self.uid(spec, current, taken[option_id])
                fields = {
                    "ext_id": spec.ext_id,
                    "name": spec.name,
                    "short_name": spec.short_name,
                    "price_operator": spec.price_operator,
                    "price_operand": spec.price_operand,
                    "hidden": spec.hidden,
                    "position": _position(spec.position, index),
                    "checked_default": spec.checked_default,
                }
                writer.upsert(
                    f"option_value {option_uid}/{uid}",
                    current,
                    fields,
                    {"option_id": option_id, "uid": uid},
                )
        if self.mode == "replace":
            writer.hide_unmatched(
                rows, lambda row: f"option_value {option_uids[row['option_id']]}/{row['uid']}"
            )
        await writer.flush()


async def import_menu(
    session: AsyncSession,
    organization_id: int,
    currency: str,
    categories: Sequence[CategoryInput],
    products: Sequence[ProductInput],
    *,
    key: KeyField,
    mode: ImportMode,
) -> ImportReport:
    """Make the organization's menu match the input; see the module notes for the guarantees.

    ``currency`` (ISO 4217) is written on every imported product. Raises
    :class:`ValidationFailed` before writing anything when the input cannot be applied.
    """
    catalog = await _load_catalog(session, organization_id)
    wanted = {k for c in categories for k in c.location_keys}
    wanted.update(k for p in products for k in p.location_keys)
    locations: set[str] | None = None
    if wanted:
        locations = set(
            await session.scalars(
                select(Location.key).where(Location.organization_id == organization_id)
            )
        )
    existing_keys = {row[key] for row in catalog.categories if row[key] is not None}
    _validate(categories, products, key, existing_keys, locations)

    report = ImportReport()
    run = _MenuImport(session, organization_id, catalog, key, mode, report)
    category_ids = await run.categories(categories)
    product_ids = await run.products(products, category_ids, currency)
    owned: list[tuple[str, int, Sequence[OptionInput]]] = [
        ("category_id", category_ids[getattr(c, key)], c.options) for c in categories
    ]
    owned += [
        ("product_id", product_id, p.options)
        for product_id, p in zip(product_ids, products, strict=True)
    ]
    await run.values(await run.options(owned))
    return report
