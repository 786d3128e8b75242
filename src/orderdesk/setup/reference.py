"""The setup document's reference, generated from the models that validate it.

:func:`json_schema` is what ``orderdesk schema`` prints (JSON Schema draft 2020-12) and
:func:`markdown` renders the same schema as ``docs/setup.md``. Both come from
:class:`~orderdesk.setup.schema.SetupDocument`, so the documentation cannot describe a field,
limit or default the parser does not enforce; a test keeps the committed ``docs/setup.md`` equal
to :func:`markdown`. Rules that span fields or entries (uniqueness, references, one of two
fields) are not expressible in the schema; the descriptions state them and :func:`parse_setup`
enforces them.

Regenerate the page after changing the models::

    orderdesk schema --markdown > docs/setup.md
"""

from __future__ import annotations

import json
from typing import Any

from orderdesk.setup.imports import ITEM_COLUMNS
from orderdesk.setup.schema import SetupDocument

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ROOT = "SetupDocument"
_LIMITS = (
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minimum", "at least {}"),
    ("exclusiveMinimum", "above {}"),
    ("maximum", "at most {}"),
    ("exclusiveMaximum", "below {}"),
    ("minItems", "at least {} entries"),
    ("maxItems", "at most {} entries"),
    ("pattern", "matches `{}`"),
    ("format", "format `{}`"),
)


def json_schema() -> dict[str, Any]:
    """The setup document's JSON Schema (draft 2020-12), as the parser validates it."""
    schema = SetupDocument.model_json_schema(mode="validation")
    schema["title"] = "orderdesk setup document"
    return {"$schema": DRAFT, **schema}


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return name.lower()


def _type(node: dict[str, Any]) -> str:
    """A short, human-readable type: ``array of [StoreSpec](#storespec)``, ``string or null``."""
    if "$ref" in node:
        name = _name(node["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "anyOf" in node:
        return " or ".join(_type(option) for option in node["anyOf"])
    kind = node.get("type", "any")
    if kind == "array":
        return f"array of {_type(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        keys = node.get("propertyNames", {})
        key = f"keys {_type(keys)}, " if keys else ""
        return f"object ({key}values {_type(node['additionalProperties'])})"
    return str(kind)


def _limits(node: dict[str, Any]) -> list[str]:
    """Limits of the node and of what it contains (array items, map values, non-null branch)."""
    found = [text.format(node[key]) for key, text in _LIMITS if key in node]
    if node.get("uniqueItems"):
        found.append("entries distinct")
    for option in node.get("anyOf", []):
        if option.get("type") != "null" and "$ref" not in option:
            found += _limits(option)
    items = node.get("items")
    if isinstance(items, dict) and "$ref" not in items:
        found += [f"each {limit}" for limit in _limits(items)]
    values = node.get("additionalProperties")
    if isinstance(values, dict) and "$ref" not in values:
        found += [f"each {limit}" for limit in _limits(values)]
    return found


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _order(schema: dict[str, Any]) -> list[str]:
    """Model names in reading order: the document first, then each model where it is first
    referenced (depth first), so a section comes right after the one that uses it."""
    definitions = schema.get("$defs", {})
    seen: list[str] = []

    def visit(name: str, node: dict[str, Any]) -> None:
        if name in seen:
            return
        seen.append(name)
        for ref in _refs(node):
            visit(ref, definitions[ref])

    visit(_ROOT, schema)
    return seen


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [_name(node["$ref"])] if "$ref" in node else []
        for key, value in node.items():
            if key != "$defs":
                found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _section(name: str, node: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if node.get("description"):
        lines += [_cell(node["description"]).replace("``", "`"), ""]
    required = set(node.get("required", []))
    lines += [
        "| field | type | required / default | description |",
        "|---|---|---|---|",
    ]
    for field, spec in node.get("properties", {}).items():
        need = "required" if field in required else f"`{json.dumps(spec.get('default'))}`"
        description = spec.get("description", "")
        limits = _limits(spec)
        if limits:
            description += f" ({'; '.join(limits)})"
        lines.append(f"| `{field}` | {_cell(_type(spec))} | {need} | {_cell(description)} |")
    if node.get("additionalProperties") is False:
        lines += ["", "Other keys are rejected."]
    return [*lines, ""]


def markdown() -> str:
    """``docs/setup.md``: every model of the setup document as a table of its fields."""
    schema = json_schema()
    definitions = schema.get("$defs", {})
    lines = [
        "# The setup document",
        "",
        "<!-- Generated from the models in src/orderdesk/setup/schema.py; do not edit by hand.",
        "     Regenerate with: orderdesk schema --markdown > docs/setup.md -->",
        "",
        "`orderdesk apply FILE` reads one JSON document that declares partners, their stores and",
        "logins, the marketplace items, restaurants with their menus and coupons, and the",
        "addresses of the built-in gazetteer. `orderdesk schema` prints its JSON Schema",
        "(draft 2020-12) for editors and validators; this page is the same schema in tables.",
        "",
        "Conventions:",
        "",
        '* Types are strict: `"12"` is not an integer and `1` is not a boolean; an integer is '
        "accepted where a number is expected.",
        "* Money in the setup document is always an **integer in minor units** of its currency "
        "(`2500` is EUR 25.00). The restaurant API shows the same amounts in major units (`25`).",
        "* Ids, names and titles may not be empty or start or end with whitespace.",
        "* Every error of a document is reported at once with its JSON path "
        "(`$.partners[0].stores[1].timezone`); nothing is applied unless the whole document is "
        "valid.",
        "",
        "## Bulk imports",
        "",
        "Catalogs too large for one document are imported from files, all rows or none, with "
        "every bad row reported by its line number (`--json` prints the summary and the errors "
        "as one object for scripts):",
        "",
        "* `orderdesk import items FILE.csv`: marketplace items, one a row, under the header "
        f"`{','.join(ITEM_COLUMNS)}`. Each row means what an entry of `items` means "
        "([ItemSpec](#itemspec)): prices in integer minor units, `delivery` and `assembly` "
        "`true`/`false` (or `1`/`0`, empty: false), an empty price: none.",
        "* `orderdesk import menu FILE.json --restaurant UID [--mode replace|update]`: a "
        "restaurant's menu in the body shape of `POST /api/menu/import` (matched by `ext_id`, "
        "prices in major units as everywhere in the restaurant API).",
        "",
    ]
    for name in _order(schema):
        lines += _section(name, schema if name == _ROOT else definitions[name])
    return "\n".join(lines).rstrip("\n") + "\n"
