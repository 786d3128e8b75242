"""The restaurant part of the OpenAPI document says what the server does: the schemes it
accepts with each operation's scope, the parameters and form it reads by hand, every error code
it can send, the date formats its parser takes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from orderdesk.app import create_app
from orderdesk.core.organizations.clients import SCOPES
from orderdesk.dialects.restaurant import errors, responses, wire
from orderdesk.settings import Settings


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("restaurant-document")
    settings = Settings(
        database_url=f"sqlite:///{directory / 'unused.db'}", media_dir=directory / "media"
    )
    schema: dict[str, Any] = create_app(settings, background=False).openapi()
    return schema


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
    }


def test_restaurant_components_are_named_and_titled_apart(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    restaurant = {name: s for name, s in schemas.items() if name.startswith("Restaurant")}
    assert {"RestaurantOrder", "RestaurantCreateOrderIn", "RestaurantCreated"} <= set(restaurant)
    for name, schema in restaurant.items():
        assert schema.get("title") == name, name
    titles = [s.get("title", name) for name, s in schemas.items()]
    assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)


EXPECTED_SCOPES = {
    ("POST", "/api/order/create"): "write:orders",
    ("POST", "/api/order/quote"): "write:orders",
    ("POST", "/api/order/validate_address"): "write:orders",
    ("POST", "/api/order/pickup_delivery_times"): "write:orders",
    ("GET", "/api/orders/list"): "read:orders",
    ("GET", "/api/orders/get"): "read:orders",
    ("POST", "/api/order/confirm"): "write:orders",
    ("POST", "/api/order/close"): "write:orders",
    ("GET", "/api/menu/categories"): "read:menu",
    ("GET", "/api/menu/category"): "read:menu",
    ("GET", "/api/menu/products"): "read:menu",
    ("GET", "/api/menu/product"): "read:menu",
    ("POST", "/api/menu/import"): "write:menu",
    ("GET", "/api/account/subrestaurants"): "read:menu",
    ("POST", "/api/coupon/apply"): "write:orders",
    ("POST", "/api/coupon/generate"): "write:coupons",
}


def test_every_way_to_authenticate_is_a_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["RestaurantApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": schemes["RestaurantApiKey"]["description"],
    }
    assert (schemes["RestaurantClientId"]["in"], schemes["RestaurantClientId"]["name"]) == (
        "header",
        "X-Client-Id",
    )
    assert schemes["RestaurantClientSecret"]["name"] == "X-Client-Secret"
    flow = schemes["RestaurantOAuth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/api/oauth/token"
    assert set(flow["scopes"]) == set(SCOPES)
    assert (schemes["RestaurantBearer"]["type"], schemes["RestaurantBearer"]["scheme"]) == (
        "http",
        "bearer",
    )


def test_each_operation_lists_the_alternatives_with_its_scope(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert set(operations) == {*EXPECTED_SCOPES, ("POST", "/api/oauth/token")}
    for key, scope in EXPECTED_SCOPES.items():
        assert operations[key]["security"] == [
            {"RestaurantApiKey": []},
            {"RestaurantClientId": [], "RestaurantClientSecret": []},
            {"RestaurantOAuth2": [scope]},
            {"RestaurantBearer": []},
        ], key
        assert f"`{scope}`" in operations[key]["description"], key
        restuid = [p for p in operations[key]["parameters"] if p["name"] == "restuid"]
        assert restuid and restuid[0]["in"] == "query", key
        assert operations[key]["tags"] and operations[key]["operationId"].startswith("restaurant_")
    assert operations[("POST", "/api/oauth/token")]["security"] == []


def test_token_endpoint_documents_its_form(document: dict[str, Any]) -> None:
    token = document["paths"]["/api/oauth/token"]["post"]
    (media_type,) = token["requestBody"]["content"]
    assert media_type == "application/x-www-form-urlencoded"
    form = document["components"]["schemas"]["RestaurantTokenRequestIn"]
    assert set(form["properties"]) == {"grant_type", "client_id", "client_secret", "scope"}
    assert set(form["required"]) == {"grant_type", "client_id", "client_secret"}
    assert form["properties"]["grant_type"]["const"] == "client_credentials"
    assert {"200", "400", "401"} <= set(token["responses"])


def test_headers_are_documented(document: dict[str, Any]) -> None:
    create = document["paths"]["/api/order/create"]["post"]
    (key,) = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and key["description"]
    assert {"Retry-After", "Idempotent-Replayed"} <= set(create["responses"]["200"]["headers"])
    for operation in _operations(document).values():
        assert "Retry-After" in operation["responses"]["200"]["headers"]


def test_create_body_has_the_seed_example(document: dict[str, Any]) -> None:
    for path in ("/api/order/create", "/api/order/quote"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        seed = body["examples"]["seed"]["value"]
        assert seed["pickup"] == {"date": "2023-11-07T05:31:56Z"}
        wire.CreateOrderIn.model_validate_json(json.dumps(seed))


def _codes_in(path: Path) -> set[str]:
    """The codes a file sends: the first argument of every WireError, failure and table row."""
    pattern = r'(?:WireError|failure|_code|_retry_later)\(\s*"([A-Z_]+)"'
    return set(re.findall(pattern, path.read_text()))


def test_every_error_code_the_dialect_sends_is_in_the_enum() -> None:
    package = Path(errors.__file__).parent
    sent = set()
    for name in ("errors.py", "routes.py", "auth.py"):
        sent |= _codes_in(package / name)
    assert {"NOT_FOUND", "CANNOT_APPLY", "INVALID_TOKEN", "INSUFFICIENT_SCOPE"} <= sent
    documented = set(get_args(responses.ErrorCode))
    assert sent <= documented, sorted(sent - documented)


class _When(BaseModel):
    model_config = ConfigDict(strict=True)
    date: wire.When


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01 13:30:00",
        "2026-12-01T12:30:00Z",
        "2026-12-01T13:30:00+01:00",
        "2026-12-01t12:30z",
        "2026-12-01 13:30",
        "2026-12-01T13:30:00.250+0100",
    ],
)
def test_what_the_date_pattern_allows_the_parser_takes(text: str) -> None:
    assert re.fullmatch(wire.WHEN_PATTERN, text)
    _When.model_validate_json(f'{{"date": "{text}"}}')


@pytest.mark.parametrize("code", ["0", "1", "0t", "20", "0e-7", "dcf-3", "0e-Festa2026"])
def test_dmethod_pattern_takes_every_method_a_restaurant_can_enable(code: str) -> None:
    assert re.fullmatch(responses.DMETHOD_PATTERN, code)


@pytest.mark.parametrize("code", ["2", "0e-", "dcf", "1 ", "pickup"])
def test_dmethod_pattern_refuses_other_codes(code: str) -> None:
    assert not re.fullmatch(responses.DMETHOD_PATTERN, code)


@pytest.mark.parametrize(
    "text", ["2026-12-01_13:30:00", "1700000000", "2026-12-01", "01/12/2026 13:30", "2026-12-01T13"]
)
def test_what_the_date_pattern_refuses_the_server_refuses(text: str) -> None:
    assert not re.fullmatch(wire.WHEN_PATTERN, text)
    with pytest.raises(ValidationError):
        _When.model_validate_json(f'{{"date": "{text}"}}')
