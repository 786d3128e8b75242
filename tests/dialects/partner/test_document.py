"""The partner part of the OpenAPI document, as client generators read it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orderdesk.app import create_app
from orderdesk.core.orders import lifecycle
from orderdesk.dialects.partner.openapi import document
from orderdesk.dialects.partner.routes import MAX_ORDER_ID
from orderdesk.settings import Settings

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("partner-document")
    app = create_app(
        Settings(database_url=f"sqlite:///{directory / 'unused.db'}", media_dir=directory),
        background=False,
    )
    result: dict[str, Any] = app.openapi()
    return result


def partner_operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        if path.startswith("/partner/")
        for method, operation in item.items()
        if method in METHODS
    }


def resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def test_the_application_document_has_the_partner_amendments(spec: dict[str, Any]) -> None:
    """``document`` is what the application applies; applying it again changes nothing."""
    again = json.loads(json.dumps(spec))
    document(again)
    assert again == spec


def test_partner_components_are_prefixed_in_name_and_title(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    referenced = {
        ref.rsplit("/", 1)[1]
        for ref in json.dumps(spec).split('"$ref": "')[1:]
        for ref in [ref.split('"', 1)[0]]
    }
    partner = {name for name in referenced if name.startswith("Partner")}
    assert {"PartnerCreateOrderIn", "PartnerCreated", "PartnerOrder", "PartnerQuote"} <= partner
    for name in partner:
        assert schemas[name]["title"] == name
    titles = [schema.get("title") for schema in schemas.values()]
    assert len(titles) == len(set(titles)), "two components share a title"


def test_token_is_a_security_scheme_not_a_parameter(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["PartnerToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "token")
    operations = partner_operations(spec)
    open_to_all = {
        ("post", "/partner/auth/authorize"),
        ("get", "/partner/slots/free"),
        ("get", "/partner/images/{name}"),
    }
    for key, operation in operations.items():
        names = {p["name"].lower() for p in operation.get("parameters", [])}
        assert "token" not in names, key
        if key in open_to_all:
            assert not operation.get("security"), key
        else:
            assert operation["security"] == [{"PartnerToken": []}], key
            assert "401" in operation["responses"], key


def test_every_operation_is_tagged_described_and_named(spec: dict[str, Any]) -> None:
    declared = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    ids = []
    for key, operation in partner_operations(spec).items():
        assert operation["description"].strip(), key
        assert operation["summary"], key
        (tag,) = operation["tags"]
        assert tag.startswith("Partner") and declared[tag], key
        ids.append(operation["operationId"])
    assert all(operation_id.startswith("partner_") for operation_id in ids)
    assert len(ids) == len(set(ids))
    quote = spec["paths"]["/partner/order/quote"]["post"]
    assert "extension" in quote["description"]


def test_every_parameter_the_server_reads_is_declared(spec: dict[str, Any]) -> None:
    def parameters(method: str, path: str) -> dict[str, dict[str, Any]]:
        operation = spec["paths"][path][method]
        return {p["name"]: p for p in operation.get("parameters", [])}

    store = parameters("get", "/partner/slots/free")["store_id"]
    assert store["required"] is True and store["schema"]["type"] == "string"
    listed = parameters("get", "/partner/order/list")
    assert {"limit", "skip", "filter", "filter[query]", "filter[store_ids][]"} <= set(listed)
    statuses = listed["filter[filter][]"]["schema"]["items"]["enum"]
    assert {"open", "cancelled", "not_in_stock", "in_stock_awaiting_date"} <= set(statuses)
    assert set(statuses) <= set(lifecycle.STATUS_OF) | set(lifecycle.STATUS_OF.values())
    for path in [p for p in spec["paths"] if "{order_id}" in p]:
        for method in spec["paths"][path]:
            order_id = parameters(method, path)["order_id"]
            assert order_id["schema"]["type"] == "integer"
            assert order_id["schema"]["maximum"] == MAX_ORDER_ID
    key = parameters("post", "/partner/order/create")["Idempotency-Key"]
    assert key["in"] == "header" and not key.get("required") and key["description"]


def test_free_slots_are_keyed_by_date_without_pattern_properties(spec: dict[str, Any]) -> None:
    assert "patternProperties" not in json.dumps(
        {k: v for k, v in spec["components"]["schemas"].items() if k.startswith("Partner")}
    )
    data = spec["components"]["schemas"]["PartnerFreeSlotsOk"]["properties"]["data"]
    assert data["additionalProperties"] == {"$ref": "#/components/schemas/PartnerFreeSlots"}
    assert "date" in data["description"]
    day = spec["components"]["schemas"]["PartnerFreeSlots"]
    assert set(day["required"]) == {"0712", "1217", "1721"}


def test_codes_and_statuses_are_enums(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]

    def values(schema: dict[str, Any]) -> set[Any]:
        return set(schema["enum"]) if "enum" in schema else {schema["const"]}

    order = schemas["PartnerOrder"]["properties"]
    assert values(order["_status"]) == {"open", "in_work", "completed", "done", "cancelled"}
    assert "awaiting_master_request" in values(order["_substatus"])
    assert values(order["payment_method"]) == {"stripe", "cash"}
    details = schemas["PartnerOrderDetails"]["properties"]
    assert values(details["delivery_type"]) == {
        "to_pavement",
        "to_door_by_lift",
        "to_door_by_stairs",
    }
    assert values(schemas["PartnerDateTime"]["properties"]["timeslot"]) == {
        "0712",
        "1217",
        "1721",
    }
    assert values(schemas["PartnerUnauthorized"]["properties"]["type"]) == {"NO_RIGHTS"}
    assert values(schemas["PartnerValidationError"]["properties"]["name"]) == {"ValidationError"}
    assert "unavailable" in values(schemas["PartnerFieldError"]["properties"]["type"])


def test_retry_and_replay_headers_are_documented(spec: dict[str, Any]) -> None:
    for key, operation in partner_operations(spec).items():
        for status in ("429", "503"):
            assert "Retry-After" in operation["responses"][status]["headers"], key
    created = spec["paths"]["/partner/order/create"]["post"]["responses"]["200"]
    assert created["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]


def test_seed_examples_are_in_the_document(spec: dict[str, Any]) -> None:
    created = spec["paths"]["/partner/order/create"]["post"]["responses"]["200"]
    example = created["content"]["application/json"]["examples"]["seed"]["value"]
    assert example["data"]["created_at"] == "2024-01-22T13:31:07.908Z"
    body = resolve(spec, "#/components/schemas/PartnerCreateOrderIn")
    assert body["examples"][0]["partner_details"]["store_id"]
    assert spec["webhooks"]["partnerOrderEvent"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"] == {"$ref": "#/components/schemas/PartnerEvent"}
