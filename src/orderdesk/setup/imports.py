"""Bulk catalog imports from files: ``orderdesk import items`` (CSV) and ``import menu`` (JSON).

A catalog of 100,000 rows is too large to edit as a setup document, and operators export it from
a spreadsheet or a POS anyway. Guarantees of both imports:

* **Every bad row is reported**, each with its line number in the file, before anything is
  written; one bad row means nothing is written (the whole import is one transaction).
* **Same meaning as the setup document.** An items row is validated by the setup document's own
  :class:`~orderdesk.setup.schema.ItemSpec` (prices in integer minor units), so a row that imports
  would also apply as ``items[]`` of a document and the reverse. A menu file is the body of the
  restaurant dialect's ``POST /api/menu/import`` (prices in major units, matched by ``ext_id``) and
  goes through the same :func:`~orderdesk.core.catalog.importer.import_menu`.
* **Compare before write.** Rows that already match the database are not written, so importing a
  file twice changes nothing the second time.
* **Bulk statements.** Existing items are loaded in chunks of a few thousand ids; new and changed
  items are written with one ``INSERT ... ON CONFLICT (item_id) DO UPDATE`` per batch of rows, not
  one statement per row.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import json
import re
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orderdesk.core.catalog.importer import (
    ImportMode,
    import_menu,
)
from orderdesk.core.catalog.models import Category, Product
from orderdesk.core.catalog.search import fold
from orderdesk.core.errors import ValidationFailed
from orderdesk.core.organizations.models import Organization
from orderdesk.db.base import utcnow
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction
from orderdesk.db.migrate import migrate
from orderdesk.db.upsert import insert_for
from orderdesk.setup.schema import ItemSpec, json_path

ITEM_COLUMNS = (
    "id",
    "title",
    "category",
    "delivery",
    "assembly",
    "delivery_price",
    "assembly_price",
    "currency",
)
"""The columns of an items CSV file, in the order ``orderdesk import items`` documents them."""

REQUIRED_ITEM_COLUMNS = ("id", "title", "category", "currency")
# Rows per INSERT ... ON CONFLICT statement: 9 columns x 2000 rows stays well below the bound
# parameter limits of SQLite (32766) and asyncpg (32767).
BATCH_ROWS = 2000
# Existing items are looked up with ``item_id IN (...)`` lists of this many ids.
_LOOKUP_CHUNK = 5000
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})
_WHOLE = re.compile(r"-?[0-9]+")
_FRIENDLY = {
    "missing": "required",
    "extra_forbidden": "unknown key",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "list_type": "must be an array",
    "model_type": "must be an object",
}

Progress = Callable[[str, int, int | None], None]
"""``progress(phase, advance, total)``: ``total`` (or ``None``) announces a phase, later calls
advance it. The command line draws it as a progress bar; library callers may ignore it."""


def _no_progress(phase: str, advance: int, total: int | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of an import file: the line it is on, the field (column or JSON path) and
    what is wrong, so an operator can jump straight to it in an editor."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.line}: {self.field}: {self.message}"
            if self.field
            else (f"{self.line}: {self.message}")
        )

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


class ImportInvalid(Exception):
    """The file cannot be imported; ``errors`` lists every problem, by line."""

    def __init__(self, path: Path, errors: Sequence[RowError]) -> None:
        self.path = path
        self.errors = sorted(errors, key=lambda e: e.line)
        super().__init__(f"{path}: {len(self.errors)} error(s)")


@dataclass
class ImportSummary:
    """What an import did; ``errors`` is filled (and nothing written) when it was refused."""

    kind: Literal["items", "menu"]
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    hidden: int = 0
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "hidden": self.hidden,
            "seconds": round(self.seconds, 3),
            "errors": [error.as_json() for error in self.errors],
        }

    def render(self) -> str:
        if self.errors:
            lines = [f"{self.file}:{error}" for error in self.errors]
            lines.append(f"{len(self.errors)} error(s) in {self.file}; nothing was imported")
            return "\n".join(lines)
        hidden = f", {self.hidden} hidden" if self.kind == "menu" else ""
        return (
            f"Imported {self.rows} {'items' if self.kind == 'items' else 'menu entries'} from "
            f"{self.file} in {self.seconds:.1f} s: "
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged{hidden}"
        )


def _messages(exc: ValidationError) -> Iterator[tuple[tuple[int | str, ...], str]]:
    for error in exc.errors(include_url=False):
        message = _FRIENDLY.get(error["type"], error["msg"])
        if error["type"] == "string_pattern_mismatch" and error["loc"][-1:] == ("currency",):
            message = "must be a 3-letter upper-case ISO 4217 code such as EUR"
        yield tuple(error["loc"]), message


# --- items: CSV ------------------------------------------------------------------------------


def _cell_int(value: str, column: str, line: int, errors: list[RowError]) -> int | None:
    text = value.strip()
    if not _WHOLE.fullmatch(text):
        unit = " of minor units (cents), such as 2500" if column.endswith("_price") else ""
        errors.append(RowError(line, column, f"must be a whole number{unit}, not {value!r}"))
        return None
    return int(text)


def _cell_bool(value: str, column: str, line: int, errors: list[RowError]) -> bool | None:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    errors.append(RowError(line, column, f"must be true or false (or 1 / 0), not {value!r}"))
    return None


def _item_row(cells: dict[str, str], line: int, errors: list[RowError]) -> ItemSpec | None:
    """The row as the setup document's item, or ``None`` with its problems in ``errors``."""
    found: list[RowError] = []
    raw: dict[str, Any] = {}
    for column in ("title", "category", "currency"):
        if column in cells:
            raw[column] = cells[column]
    if "id" in cells:
        raw["id"] = _cell_int(cells["id"], "id", line, found)
    for column in ("delivery", "assembly"):
        if cells.get(column, "").strip():
            raw[column] = _cell_bool(cells[column], column, line, found)
    for column in ("delivery_price", "assembly_price"):
        if cells.get(column, "").strip():
            raw[column] = _cell_int(cells[column], column, line, found)
    if found:
        errors.extend(found)
        return None
    try:
        return ItemSpec.model_validate(raw)
    except ValidationError as exc:
        errors.extend(
            RowError(line, ".".join(map(str, loc)), message) for loc, message in _messages(exc)
        )
        return None


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def read_items(path: Path, progress: Progress = _no_progress) -> list[ItemSpec]:
    """Every row of an items CSV file as a checked item; raises :class:`ImportInvalid` listing
    every bad row (and a bad header) with its line number."""
    errors: list[RowError] = []
    items: list[ItemSpec] = []
    first_line: dict[int, int] = {}
    try:
        progress("checking rows", 0, max(_count_lines(path) - 1, 0))  # the header is no row
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            unknown = [name for name in header if name not in ITEM_COLUMNS]
            missing = [name for name in REQUIRED_ITEM_COLUMNS if name not in header]
            if unknown:
                errors.append(
                    RowError(
                        1,
                        "",
                        f"unknown column {', '.join(unknown)}; "
                        f"the columns are {', '.join(ITEM_COLUMNS)}",
                    )
                )
            if missing:
                errors.append(RowError(1, "", f"missing column {', '.join(missing)}"))
            repeated = sorted({name for name in header if header.count(name) > 1})
            if repeated:
                errors.append(RowError(1, "", f"repeated column {', '.join(repeated)}"))
            if errors:
                raise ImportInvalid(path, errors)
            previous = reader.line_num
            for values in reader:
                line, previous = previous + 1, reader.line_num
                progress("checking rows", previous - line + 1, None)
                if not any(value.strip() for value in values):
                    continue  # blank lines, such as a trailing one, are not rows
                if len(values) != len(header):
                    errors.append(
                        RowError(
                            line, "", f"has {len(values)} fields; the header has {len(header)}"
                        )
                    )
                    continue
                item = _item_row(dict(zip(header, values, strict=True)), line, errors)
                if item is None:
                    continue
                first = first_line.setdefault(item.id, line)
                if first != line:
                    errors.append(
                        RowError(line, "id", f"duplicate id {item.id}; first on line {first}")
                    )
                    continue
                items.append(item)
    except UnicodeDecodeError as exc:
        raise ImportInvalid(path, [*errors, RowError(0, "", f"not UTF-8 text: {exc}")]) from None
    except csv.Error as exc:
        raise ImportInvalid(path, [*errors, RowError(0, "", f"not a CSV file: {exc}")]) from None
    except OSError as exc:
        raise ImportInvalid(path, [RowError(0, "", f"cannot read the file: {exc}")]) from None
    if errors:
        raise ImportInvalid(path, errors)
    return items


async def _category_ids(session: AsyncSession, items: Sequence[ItemSpec]) -> dict[str, int]:
    """The marketplace categories the items name, created as needed (a setup document's
    ``items[].category`` makes them the same way)."""
    uids = list(dict.fromkeys(item.category for item in items))
    found: dict[str, int] = {}
    for start in range(0, len(uids), _LOOKUP_CHUNK):
        rows = await session.execute(
            select(Category.uid, Category.id).where(
                Category.organization_id.is_(None),
                Category.uid.in_(uids[start : start + _LOOKUP_CHUNK]),
            )
        )
        found.update((uid, id_) for uid, id_ in rows)
    missing = [
        {"organization_id": None, "uid": uid, "name": uid} for uid in uids if uid not in found
    ]
    for start in range(0, len(missing), BATCH_ROWS):
        result = await session.execute(
            insert_for(session, Category).returning(Category.uid, Category.id),
            missing[start : start + BATCH_ROWS],
        )
        found.update((uid, id_) for uid, id_ in result)
    return found


_COMPARED = ("uid", "category_id", "name", "price", "currency", "services", "search_text")


def _item_values(item: ItemSpec, category_id: int) -> dict[str, Any]:
    return {
        "uid": str(item.id),
        "category_id": category_id,
        "name": item.title,
        "price": 0,
        "currency": item.currency,
        "services": item.services,
        "search_text": fold(item.title),
    }


async def write_items(
    session: AsyncSession, items: Sequence[ItemSpec], progress: Progress = _no_progress
) -> tuple[int, int, int]:
    """Upsert the items in ``session``'s transaction (never committed here); returns the counts
    ``(created, updated, unchanged)``."""
    categories = await _category_ids(session, items)
    existing: dict[int, dict[str, Any]] = {}
    ids = [item.id for item in items]
    columns = [getattr(Product, name) for name in _COMPARED]
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        rows = await session.execute(
            select(Product.item_id, *columns).where(
                Product.item_id.in_(ids[start : start + _LOOKUP_CHUNK])
            )
        )
        existing.update((row["item_id"], dict(row)) for row in rows.mappings())
    now = utcnow()
    writes: list[dict[str, Any]] = []
    created = updated = 0
    for item in items:
        values = _item_values(item, categories[item.category])
        current = existing.get(item.id)
        if current is None:
            created += 1
        elif any(current[name] != value for name, value in values.items()):
            updated += 1
        else:
            continue
        writes.append(
            {
                "item_id": item.id,
                "organization_id": None,
                "created_at": now,  # ignored by an update; given so no default runs per row
                "updated_at": now,
                "hidden": False,
                "available": True,
                "position": 0,
                **values,
            }
        )
    progress("writing", 0, len(writes))
    if writes:
        await _upsert_products(session, writes, created, progress)
    return created, updated, len(items) - created - updated


_SEARCH_TRIGGER = "products_search_ai"


async def _upsert_products(
    session: AsyncSession, writes: list[dict[str, Any]], created: int, progress: Progress
) -> None:
    """``INSERT ... ON CONFLICT (item_id) DO UPDATE`` of every row, as driver ``executemany``
    calls of :data:`BATCH_ROWS` rows.

    The values are converted once per column with the columns' own bind processors (the same
    text SQLAlchemy would send) and handed to the driver directly: SQLAlchemy's per-row
    parameter handling costs more than the database's insert itself at this size.

    On SQLite the full-text index is kept by a trigger per inserted row, which costs several
    times the insert; when many rows are new, the trigger is dropped for the transaction, the
    new rows are indexed with one ``INSERT ... SELECT`` and the trigger is put back exactly as
    it was stored (DDL is transactional on SQLite, so other connections never see it missing).
    """
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        await _upsert_products_postgres(connection, writes, progress)
        if created >= BATCH_ROWS:
            # PostgreSQL's advice after a bulk load: until autovacuum gets to it, the planner
            # plans the next lookups (another import's ``item_id IN (...)`` chunks, searches) for
            # the table as small as it was. Sampling it costs a fraction of a second.
            await connection.exec_driver_sql("ANALYZE products")
        return
    table = Product.__table__
    names = list(writes[0])
    convert = [
        (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
    ]
    marks = ["?"] * len(names)
    updated = ", ".join(f"{name} = excluded.{name}" for name in (*_COMPARED, "updated_at"))
    # Every name is one of the table's own columns (``table.c[...]`` above refuses any other).
    sql = (
        f"INSERT INTO {Product.__tablename__} ({', '.join(names)}) VALUES ({', '.join(marks)}) "  # noqa: S608
        f"ON CONFLICT (item_id) DO UPDATE SET {updated}"
    )
    trigger: str | None = None
    last_id = 0
    if created >= BATCH_ROWS:
        trigger = await connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
            {"name": _SEARCH_TRIGGER},
        )
        if trigger is not None:
            await connection.exec_driver_sql(f"DROP TRIGGER {_SEARCH_TRIGGER}")
            last_id = int(
                await connection.scalar(text("SELECT coalesce(max(id), 0) FROM products")) or 0
            )
    for start in range(0, len(writes), BATCH_ROWS):
        batch = writes[start : start + BATCH_ROWS]
        rows = [
            tuple(row[name] if process is None else process(row[name]) for name, process in convert)
            for row in batch
        ]
        await connection.exec_driver_sql(sql, rows)
        progress("writing", len(batch), None)
    if trigger is not None:
        await connection.execute(
            text(
                "INSERT INTO product_search(rowid, search_text) "
                "SELECT id, search_text FROM products WHERE id > :last"
            ),
            {"last": last_id},
        )
        await connection.exec_driver_sql(trigger)


# PostgreSQL receives each batch as one array per column, unnested into rows by the server: one
# statement per batch instead of one execution per row.
_UNNEST_UPSERT = """
INSERT INTO products (item_id, organization_id, uid, category_id, name, price, currency,
                      services, search_text, hidden, available, position, created_at, updated_at)
SELECT item_id, NULL, uid, category_id, name, 0, currency, services::jsonb, search_text,
       false, true, 0, $8, $8
FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[],
            $7::text[]) AS t(item_id, uid, category_id, name, currency, services, search_text)
ON CONFLICT (item_id) DO UPDATE SET uid = excluded.uid, category_id = excluded.category_id,
    name = excluded.name, price = excluded.price, currency = excluded.currency,
    services = excluded.services, search_text = excluded.search_text,
    updated_at = excluded.updated_at
"""


async def _upsert_products_postgres(
    connection: AsyncConnection, writes: list[dict[str, Any]], progress: Progress
) -> None:
    now = writes[0]["updated_at"]
    for start in range(0, len(writes), BATCH_ROWS):
        batch = writes[start : start + BATCH_ROWS]
        columns = (
            [row["item_id"] for row in batch],
            [row["uid"] for row in batch],
            [row["category_id"] for row in batch],
            [row["name"] for row in batch],
            [row["currency"] for row in batch],
            [json.dumps(row["services"]) for row in batch],
            [row["search_text"] for row in batch],
        )
        await connection.exec_driver_sql(_UNNEST_UPSERT, (*columns, now))
        progress("writing", len(batch), None)


async def import_items(
    database_url: str, path: Path, progress: Progress = _no_progress
) -> ImportSummary:
    """The whole ``orderdesk import items`` command: check every row, then write them all in one
    transaction. A refused file comes back with ``errors`` and nothing written."""
    started = time.perf_counter()
    summary = ImportSummary("items", str(path))
    try:
        items = read_items(path, progress)
    except ImportInvalid as exc:
        summary.errors = exc.errors
        return summary
    engine = create_engine(database_url, pool_size=1)
    try:
        await migrate(engine)
        async with transaction(create_sessionmaker(engine)) as session:
            counts = await write_items(session, items, progress)
    finally:
        await engine.dispose()
    summary.rows = len(items)
    summary.created, summary.updated, summary.unchanged = counts
    summary.seconds = time.perf_counter() - started
    return summary


# --- menu: JSON in the shape of POST /api/menu/import ----------------------------------------


_BLANK = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """The offset of the next character after JSON whitespace."""
    blank = _BLANK.match(text, at)
    return blank.end() if blank else at


def _load_with_lines(text: str) -> tuple[Any, dict[str, list[int]]]:
    """The decoded document and, for its top-level ``categories`` and ``products`` arrays, the
    character offset where each element starts (the C decoder parses each element; only the
    separators between them are scanned here)."""
    decoder = json.JSONDecoder()
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return json.loads(text), {}
    starts: dict[str, list[int]] = {}
    document: dict[str, Any] = {}
    at = _skip(text, at + 1)
    if text.startswith("}", at):
        at += 1
    else:
        while True:
            if not text.startswith('"', at):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, at
                )
            key, at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if not text.startswith(":", at):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
            at = _skip(text, at + 1)
            if key in ("categories", "products") and text.startswith("[", at):
                document[key], at = _array(decoder, text, at, starts.setdefault(key, []))
            else:
                document[key], at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if text.startswith(",", at):
                at = _skip(text, at + 1)
                continue
            if text.startswith("}", at):
                at += 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
    if _skip(text, at) != len(text):
        raise json.JSONDecodeError("Extra data", text, at)
    return document, starts


def _array(
    decoder: json.JSONDecoder, text: str, at: int, starts: list[int]
) -> tuple[list[Any], int]:
    values: list[Any] = []
    at = _skip(text, at + 1)
    if text.startswith("]", at):
        return values, at + 1
    while True:
        starts.append(at)
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        at = _skip(text, at)
        if text.startswith(",", at):
            at = _skip(text, at + 1)
        elif text.startswith("]", at):
            return values, at + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)


class _Lines:
    """Line numbers of the top-level elements, from their character offsets."""

    def __init__(self, text: str, starts: dict[str, list[int]]) -> None:
        self._breaks = [index for index, char in enumerate(text) if char == "\n"]
        self._starts = starts

    def of(self, section: str, index: int) -> int:
        offsets = self._starts.get(section, [])
        at = offsets[index] if index < len(offsets) else 0
        return bisect.bisect_left(self._breaks, at) + 1


@dataclass
class MenuFile:
    """A checked menu file: what :func:`import_menu` takes, and where each entity is."""

    mode: ImportMode | None
    categories: list[Any]
    products: list[Any]
    lines: _Lines


def read_menu(path: Path, progress: Progress = _no_progress) -> MenuFile:
    """Every category and product of a menu file, checked one by one with the restaurant
    dialect's own request models; raises :class:`ImportInvalid` listing every bad entity with
    the line it starts on."""
    from orderdesk.dialects.restaurant import wire

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportInvalid(path, [RowError(0, "", f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:
        raise ImportInvalid(path, [RowError(0, "", f"cannot read the file: {exc}")]) from None
    try:
        raw, starts = _load_with_lines(text)
    except json.JSONDecodeError as exc:
        raise ImportInvalid(
            path, [RowError(exc.lineno, "", f"not valid JSON: {exc.msg} (column {exc.colno})")]
        ) from None
    if not isinstance(raw, dict):
        raise ImportInvalid(path, [RowError(1, "", "the menu file must be a JSON object")])
    lines = _Lines(text, starts)
    errors: list[RowError] = []
    known = {"pos_uid", "update_mode", "categories", "products"}
    for key in sorted(set(raw) - known):
        errors.append(RowError(1, key, f"unknown key; the keys are {', '.join(sorted(known))}"))
    mode = raw.get("update_mode")
    if mode is not None and mode not in ("replace", "update"):
        errors.append(RowError(1, "update_mode", 'must be "replace" or "update"'))
    sections: dict[str, list[Any]] = {"categories": [], "products": []}
    models: dict[str, type[BaseModel]] = {
        "categories": wire.ImportCategoryIn,
        "products": wire.ImportProductIn,
    }
    total = sum(len(v) for k, v in raw.items() if k in sections and isinstance(v, list))
    progress("checking rows", 0, total)
    for section, model in models.items():
        entries = raw.get(section, [])
        if not isinstance(entries, list):
            errors.append(RowError(1, section, "must be an array"))
            continue
        for index, entry in enumerate(entries):
            try:
                sections[section].append(model.model_validate(entry))
            except ValidationError as exc:
                line = lines.of(section, index)
                errors.extend(
                    RowError(line, json_path((section, index, *loc)).removeprefix("$."), message)
                    for loc, message in _messages(exc)
                )
            progress("checking rows", 1, None)
    if errors:
        raise ImportInvalid(path, errors)
    return MenuFile(mode, sections["categories"], sections["products"], lines)


async def _menu_into(
    session: AsyncSession, path: Path, menu: MenuFile, restaurant: str, mode: ImportMode
) -> tuple[int, int, int, int]:
    from orderdesk.dialects.restaurant.wire import menu_inputs

    org = await session.scalar(
        select(Organization).where(
            Organization.kind == "restaurant", Organization.key == restaurant
        )
    )
    if org is None:
        raise ImportInvalid(path, [RowError(0, "--restaurant", f"no restaurant {restaurant}")])
    currency = str(org.settings.get("currency", "EUR"))
    categories, products = menu_inputs(menu.categories, menu.products, currency)
    try:
        report = await import_menu(
            session, org.id, currency, categories, products, key="ext_id", mode=mode
        )
    except ValidationFailed as exc:
        raise ImportInvalid(
            path, [_menu_error(menu, e.path, e.message) for e in exc.errors]
        ) from None
    return len(report.created), len(report.updated), len(report.unchanged), len(report.hidden)


def _menu_error(menu: MenuFile, path: str, message: str) -> RowError:
    """An importer error (``products[3].category``) in the file's terms, with its line."""
    found = re.match(r"(categories|products)\[(\d+)\]", path)
    line = menu.lines.of(found[1], int(found[2])) if found else 0
    from orderdesk.dialects.restaurant.wire import IMPORT_NAMES

    parts = re.split(r"(\[\d+\]|\.)", path)
    wire_path = "".join(IMPORT_NAMES.get(part, part) for part in parts)
    return RowError(line, wire_path, message)


async def import_menu_file(
    database_url: str,
    path: Path,
    restaurant: str,
    mode: ImportMode | None = None,
    progress: Progress = _no_progress,
) -> ImportSummary:
    """The whole ``orderdesk import menu`` command: check every entity, then import the menu in
    one transaction. ``mode`` wins over the file's ``update_mode``; without either it is
    ``update`` (nothing is hidden)."""
    started = time.perf_counter()
    summary = ImportSummary("menu", str(path))
    try:
        menu = read_menu(path, progress)
        chosen: ImportMode = mode or menu.mode or "update"
        engine = create_engine(database_url, pool_size=1)
        try:
            await migrate(engine)
            async with transaction(create_sessionmaker(engine)) as session:
                progress("writing", 0, len(menu.categories) + len(menu.products))
                counts = await _menu_into(session, path, menu, restaurant, chosen)
                progress("writing", len(menu.categories) + len(menu.products), None)
        finally:
            await engine.dispose()
    except ImportInvalid as exc:
        summary.errors = exc.errors
        return summary
    summary.rows = len(menu.categories) + len(menu.products)
    summary.created, summary.updated, summary.unchanged, summary.hidden = counts
    summary.seconds = time.perf_counter() - started
    return summary


# --- the ``orderdesk import`` commands --------------------------------------------------------

commands = typer.Typer(
    help="Import large catalogs from files: all rows or none, every bad row reported.",
    no_args_is_help=True,
)

_DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="sqlite:///file.db or postgresql://user@host:port/db"),
]
_Json = Annotated[
    bool, typer.Option("--json", help="print the summary and every error as one JSON object")
]


def _database_url(database_url: str | None) -> str:
    from orderdesk.settings import SettingsError, load_settings

    try:
        return load_settings(database_url=database_url).database_url
    except SettingsError as exc:
        typer.echo(f"orderdesk: {exc}", err=True)
        raise typer.Exit(2) from None


def _run(
    work: Callable[[Progress], Coroutine[Any, Any, ImportSummary]], path: Path, as_json: bool
) -> None:
    """Runs an import with a progress bar on a terminal (never with ``--json`` or when the
    output is piped, where it would only be noise), then prints the summary."""
    if not path.is_file():
        message = f"{path}: no such file"
        summary_error = {
            "ok": False,
            "file": str(path),
            "errors": [{"line": 0, "field": "", "message": "no such file"}],
        }
        typer.echo(
            json.dumps(summary_error) if as_json else f"orderdesk: {message}", err=not as_json
        )
        raise typer.Exit(2)
    console = Console(stderr=True)
    if as_json or not console.is_terminal:
        summary = asyncio.run(work(_no_progress))
    else:
        with RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(phase: str, advance: int, total: int | None) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total)
                elif total is not None:
                    bar.update(tasks[phase], total=total)
                if advance:
                    bar.advance(tasks[phase], advance)

            summary = asyncio.run(work(progress))
    if as_json:
        typer.echo(json.dumps(summary.as_json(), ensure_ascii=False))
    else:
        typer.echo(summary.render(), err=not summary.ok)
    if not summary.ok:
        raise typer.Exit(2)


@commands.command("items")
def items_command(
    file: Annotated[Path, typer.Argument(help="CSV file: a header row, then one item a row")],
    database_url: _DatabaseUrl = None,
    as_json: _Json = False,
) -> None:
    """Import marketplace items from CSV: id, title, category, currency (required), delivery,
    assembly (true/false), delivery_price, assembly_price (integer minor units: 2500 is 25.00)."""
    url = _database_url(database_url)
    _run(lambda progress: import_items(url, file, progress), file, as_json)


@commands.command("menu")
def menu_command(
    file: Annotated[Path, typer.Argument(help="JSON file in the shape of POST /api/menu/import")],
    restaurant: Annotated[
        str, typer.Option("--restaurant", help="uid of the restaurant whose menu it is")
    ],
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="replace: hide what the file no longer has; update: only add and change "
            "(default: the file's update_mode, else update)",
        ),
    ] = None,
    database_url: _DatabaseUrl = None,
    as_json: _Json = False,
) -> None:
    """Import a restaurant's menu (prices in major units, matched by ext_id)."""
    if mode not in (None, "replace", "update"):
        typer.echo("orderdesk: --mode must be replace or update", err=True)
        raise typer.Exit(2)
    url = _database_url(database_url)
    chosen: ImportMode | None = "replace" if mode == "replace" else "update" if mode else None
    _run(lambda progress: import_menu_file(url, file, restaurant, chosen, progress), file, as_json)
