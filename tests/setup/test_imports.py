"""``orderdesk import items`` and ``import menu``: large catalogs, all rows or none."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import fresh_database
from tests.factories import login, make_partner
from typer.testing import CliRunner

from orderdesk.app import create_app
from orderdesk.cli import cli
from orderdesk.core.catalog.models import Product
from orderdesk.db.engine import create_engine, create_sessionmaker
from orderdesk.settings import Settings
from orderdesk.setup.imports import ITEM_COLUMNS, import_items

runner = CliRunner()
FIRST_ID = 1_700_000_000


def write_items(path: Path, count: int, *, bad: dict[int, dict[str, str]] | None = None) -> Path:
    """``count`` item rows (row ``n`` is on line ``n + 2``); ``bad`` replaces cells of some rows."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=ITEM_COLUMNS)
        writer.writeheader()
        for n in range(count):
            row = {
                "id": str(FIRST_ID + n),
                "title": f"Bulkimport wardrobe {n} oak",
                "category": f"bulk-{n % 40}",
                "delivery": "true",
                "assembly": "true" if n % 2 else "false",
                "delivery_price": "2500",
                "assembly_price": "6900" if n % 2 else "",
                "currency": "EUR",
            }
            row.update((bad or {}).get(n, {}))
            writer.writerow(row)
    return path


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'import.db'}"


async def _count_products(url: str) -> int:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(Product)) or 0)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path) as url:
        yield url


async def test_100000_items_import_and_are_searchable(empty_database: str, tmp_path: Path) -> None:
    path = write_items(tmp_path / "items.csv", 100_000)
    started = time.perf_counter()
    summary = await import_items(empty_database, path)
    elapsed = time.perf_counter() - started
    assert summary.ok, summary.errors[:5]
    assert (summary.rows, summary.created, summary.updated) == (100_000, 100_000, 0)
    print(f"100,000 items on {empty_database.split(':')[0]}: {elapsed:.1f} s")

    again = await import_items(empty_database, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 100_000)

    settings = Settings(database_url=empty_database, media_dir=tmp_path / "media")
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        partner = await make_partner(app.state.orderdesk)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = await login(client, partner)
            found = await client.get(
                "/partner/item/find", params={"name": "bulkimport 99999"}, headers=headers
            )
    assert found.status_code == 200, found.text
    items = found.json()["data"]
    assert items[0] == {
        "id": FIRST_ID + 99_999,
        "title": "Bulkimport wardrobe 99999 oak",
        "category": "bulk-39",
        "delivery": True,
        "assembly": True,
        "delivery_price": 2500,
        "assembly_price": 6900,
        "currency": "EUR",
    }


async def test_a_changed_row_is_updated_and_the_rest_left_alone(
    empty_database: str, tmp_path: Path
) -> None:
    await import_items(empty_database, write_items(tmp_path / "first.csv", 3000))
    changed = write_items(
        tmp_path / "changed.csv",
        3000,
        bad={7: {"title": "Renamed chest", "delivery_price": "3100", "category": "chests"}},
    )
    summary = await import_items(empty_database, changed)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 2999)
    settings = Settings(database_url=empty_database, media_dir=tmp_path / "media")
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        partner = await make_partner(app.state.orderdesk)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = await login(client, partner)
            renamed = await client.get(
                "/partner/item/find", params={"name": "renamed chest"}, headers=headers
            )
            old = await client.get(
                "/partner/item/find", params={"name": "bulkimport wardrobe 7 oak"}, headers=headers
            )
    [item] = renamed.json()["data"]
    assert (item["id"], item["category"], item["delivery_price"]) == (FIRST_ID + 7, "chests", 3100)
    assert FIRST_ID + 7 not in [i["id"] for i in old.json()["data"]]


def test_every_bad_row_is_reported_by_line_and_nothing_is_written(tmp_path: Path) -> None:
    bad = {
        3: {"delivery_price": "25.00"},  # line 5
        10: {"currency": "euro"},  # line 12
        41: {"id": "-"},  # line 43
    }
    path = write_items(tmp_path / "items.csv", 50, bad=bad)
    result = runner.invoke(cli, ["import", "items", str(path), "--database-url", _sqlite(tmp_path)])
    assert result.exit_code == 2
    assert f"{path}:5: delivery_price: must be a whole number of minor units" in result.output
    assert f"{path}:12: currency: must be a 3-letter upper-case ISO 4217 code" in result.output
    assert f"{path}:43: id: must be a whole number" in result.output
    assert "3 error(s)" in result.output and "nothing was imported" in result.output


async def test_a_row_that_fails_writes_nothing_of_the_good_rows(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    good = await import_items(url, write_items(tmp_path / "good.csv", 5))
    assert good.created == 5
    # A new valid file with one bad row changes nothing, not even its good rows.
    changed = write_items(tmp_path / "changed.csv", 20, bad={19: {"title": " padded"}})
    summary = await import_items(url, changed)
    assert [(e.line, e.field) for e in summary.errors] == [(21, "title")]
    assert await _count_products(url) == 5


def test_json_output_parses_for_success_and_for_errors(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    path = write_items(tmp_path / "items.csv", 3)
    result = runner.invoke(cli, ["import", "items", str(path), "--json", "--database-url", url])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["ok"] is True
    assert (answer["rows"], answer["created"], answer["errors"]) == (3, 3, [])

    bad = write_items(tmp_path / "bad.csv", 3, bad={0: {"delivery": "maybe"}, 2: {"id": "0"}})
    result = runner.invoke(cli, ["import", "items", str(bad), "--json", "--database-url", url])
    assert result.exit_code == 2
    answer = json.loads(result.output)
    assert answer["ok"] is False
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [(2, "delivery"), (4, "id")]


def test_a_wrong_header_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,name,category\n1,PAX,beds\n")
    result = runner.invoke(cli, ["import", "items", str(path), "--database-url", _sqlite(tmp_path)])
    assert result.exit_code == 2
    assert f"{path}:1: unknown column name" in result.output
    assert "missing column title, currency" in result.output


# --- menu -----------------------------------------------------------------------------------


def _demo_database(tmp_path: Path) -> str:
    url = _sqlite(tmp_path)
    setup = tmp_path / "demo.json"
    setup.write_text(runner.invoke(cli, ["demo-setup"]).output)
    applied = runner.invoke(cli, ["apply", str(setup), "--database-url", url])
    assert applied.exit_code == 0, applied.output
    return url


def _menu(products: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "update_mode": "update",
        "categories": [{"ext_id": "POS-PIZZA", "name": "Pizze dal POS"}],
        "products": products,
    }


def _product(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "ext_id": f"POS-{n}",
        "category_ext_id": "POS-PIZZA",
        "name": f"Pizza {n}",
        "price": 7.5,
        **extra,
    }


def test_menu_import_creates_then_leaves_alone(tmp_path: Path) -> None:
    url = _demo_database(tmp_path)
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(_menu([_product(n) for n in range(200)]), indent=2))
    args = ["import", "menu", str(path), "--restaurant", "bella", "--json", "--database-url", url]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"] == 201
    second = json.loads(runner.invoke(cli, args).output)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 201)
    assert asyncio.run(_price_of(url, "POS-3")) == 750  # 7.5 EUR in the file

    # --mode wins over the file's update_mode: replace hides the demo menu the file lacks.
    replaced = json.loads(runner.invoke(cli, [*args, "--mode", "replace"]).output)
    assert replaced["ok"] and replaced["unchanged"] == 201 and replaced["hidden"] > 20


async def _price_of(url: str, ext_id: str) -> int | None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await session.scalar(select(Product.price).where(Product.ext_id == ext_id))
    finally:
        await engine.dispose()


def test_menu_import_reports_every_bad_product_by_line(tmp_path: Path) -> None:
    url = _demo_database(tmp_path)
    products = [_product(n) for n in range(10)]
    products[2]["price"] = "7,50"
    products[7]["category_ext_id"] = "NO-SUCH-CATEGORY"
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(_menu(products), indent=2))
    text = path.read_text().splitlines()
    line_of = {n: text.index(f'      "ext_id": "POS-{n}",') for n in (2, 7)}  # 0-based, "{" above
    args = ["import", "menu", str(path), "--restaurant", "bella", "--json", "--database-url", url]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    errors = json.loads(result.output)["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(line_of[2], "products[2].price")]

    products[2]["price"] = 7.5
    path.write_text(json.dumps(_menu(products), indent=2))
    errors = json.loads(runner.invoke(cli, args).output)["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (line_of[7], "products[7].category_ext_id")
    ]


def test_menu_import_of_an_unknown_restaurant_or_broken_json_is_a_clear_error(
    tmp_path: Path,
) -> None:
    url = _demo_database(tmp_path)
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(_menu([_product(1)])))
    args = ["import", "menu", str(path), "--database-url", url]
    result = runner.invoke(cli, [*args, "--restaurant", "nobody"])
    assert result.exit_code == 2
    assert "no restaurant nobody" in result.output
    path.write_text('{"products": [\n  {"ext_id": "x",}\n]}')
    result = runner.invoke(cli, [*args, "--restaurant", "bella"])
    assert result.exit_code == 2
    assert f"{path}:2: not valid JSON" in result.output
