"""The setup document's JSON Schema and reference page are the parser's own rules, in print."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from orderdesk.cli import cli
from orderdesk.setup.demo import demo_document
from orderdesk.setup.reference import DRAFT, json_schema, markdown

ROOT = Path(__file__).parents[2]
EXAMPLE = Path(__file__).with_name("operations_example.json")
runner = CliRunner()


def _validator() -> Draft202012Validator:
    schema = json_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _properties(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, spec in node.get("properties", {}).items():
            yield f"{path}.{name}", spec
        for key, value in node.items():
            if key != "properties":
                yield from _properties(value, f"{path}.{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _properties(value, path)


def test_the_printed_schema_is_draft_2020_12_and_the_one_generated() -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["$schema"] == DRAFT == "https://json-schema.org/draft/2020-12/schema"
    assert printed == json_schema()
    Draft202012Validator.check_schema(printed)


def test_every_field_has_a_description() -> None:
    missing = [path for path, spec in _properties(json_schema()) if not spec.get("description")]
    assert not missing, missing


@pytest.mark.parametrize(
    "field",
    [
        "ItemSpec.delivery_price",
        "ItemSpec.assembly_price",
        "ProductSpec.price",
        "OptionValueSpec.price_operand",
        "ZoneSpec.fee",
        "ZoneSpec.order_min",
        "CouponSpec.discount_amount",
        "CouponSpec.order_min",
        "CouponGeneratorSpec.discount_amount",
        "CouponGeneratorSpec.order_min",
    ],
)
def test_money_fields_say_they_are_integer_minor_units(field: str) -> None:
    model, name = field.split(".")
    spec = json_schema()["$defs"][model]["properties"][name]
    assert "integer minor units" in spec["description"]
    types = [spec.get("type")] + [option.get("type") for option in spec.get("anyOf", [])]
    assert "integer" in types


def test_the_demo_document_is_valid() -> None:
    printed = runner.invoke(cli, ["demo-setup"])
    assert printed.exit_code == 0
    document = json.loads(printed.output)
    assert document == json.loads(json.dumps(demo_document()))
    errors = list(_validator().iter_errors(document))
    assert not errors, [error.message for error in errors]


def test_the_operations_guide_example_is_valid() -> None:
    errors = list(_validator().iter_errors(json.loads(EXAMPLE.read_text())))
    assert not errors, [error.message for error in errors]


def _broken(change: str) -> dict[str, Any]:
    document = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    store = document["partners"][0]["stores"][0]
    if change == "wrong type":
        document["items"][0]["delivery_price"] = "25.00"
    elif change == "unknown field":
        store["opening_hours"] = {}
    elif change == "missing required":
        del store["timezone"]
    elif change == "missing timeslot":
        del store["masters"]["1721"]
    elif change == "out of range":
        store["masters"]["0712"] = 1001
    return document


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ("wrong type", ["items", 0, "delivery_price"]),
        ("unknown field", ["partners", 0, "stores", 0]),
        ("missing required", ["partners", 0, "stores", 0]),
        ("out of range", ["partners", 0, "stores", 0, "masters", "0712"]),
        ("missing timeslot", ["partners", 0, "stores", 0, "masters"]),
    ],
)
def test_a_broken_document_is_rejected_where_it_is_broken(change: str, where: list[Any]) -> None:
    errors = list(_validator().iter_errors(_broken(change)))
    assert errors
    assert any(list(error.absolute_path) == where for error in errors), [
        (list(e.absolute_path), e.message) for e in errors
    ]


def test_docs_setup_md_is_the_generated_reference() -> None:
    # After changing the models: orderdesk schema --markdown > docs/setup.md
    committed = (ROOT / "docs" / "setup.md").read_text(encoding="utf-8")
    assert committed == markdown(), "docs/setup.md is stale: orderdesk schema --markdown > it"
    printed = runner.invoke(cli, ["schema", "--markdown"])
    assert printed.exit_code == 0
    assert printed.output == committed


def test_the_reference_lists_every_model_with_its_limits_and_defaults() -> None:
    page = markdown()
    for name in json_schema()["$defs"]:
        assert f"\n## {name}\n" in page, name
    assert (
        "| `masters_on` | array of [CapacityOverrideSpec](#capacityoverridespec) | `[]` |" in page
    )
    assert "| `countdown_seconds` | integer | `300` |" in page
    assert "at least 30; at most 86400" in page


def test_invalid_json_names_the_file_line_and_column(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text('{\n  "version": 1,\n  "items": [}\n')
    result = runner.invoke(
        cli, ["apply", str(setup), "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 2
    assert f"{setup}:3:13: not valid JSON" in result.output, result.output
