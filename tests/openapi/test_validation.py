"""The response check of the shared test clients catches what it must and nothing else."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.openapi import validation
from tests.openapi.validation import ResponseValidator, response_hooks

ITEM = {
    "type": "object",
    "required": ["id"],
    "additionalProperties": False,
    "properties": {"id": {"type": "string"}, "tags": {"$ref": "#/components/schemas/Tags"}},
}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/items/{item_id}": {
            "get": {
                "responses": {
                    "200": {
                        "description": "found",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                        },
                    },
                    "4XX": {"$ref": "#/components/responses/Problem"},
                },
            }
        },
        "/items/latest": {
            "get": {
                "responses": {
                    "200": {
                        "description": "a list",
                        "content": {"application/json": {"schema": {"type": "array"}}},
                    },
                    "default": {"$ref": "#/components/responses/Problem"},
                }
            }
        },
        "/items/{item_id}/image": {
            "get": {
                "responses": {
                    "200": {"description": "img", "content": {"image/webp": {"schema": {}}}}
                }
            }
        },
    },
    "components": {
        "schemas": {
            "Item": ITEM,
            "Tags": {"type": "array", "items": {"type": "string"}},
            "Problem": {"type": "object", "required": ["message"]},
        },
        "responses": {
            "Problem": {
                "description": "problem",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
        },
    },
}


def answer(
    method: str, path: str, status: int, body: Any = None, content_type: str = "application/json"
) -> httpx.Response:
    request = httpx.Request(method, f"http://testserver{path}")
    if content_type.endswith("json"):
        return httpx.Response(status, json=body, request=request)
    return httpx.Response(
        status, content=b"RIFF", headers={"content-type": content_type}, request=request
    )


def problem(response: httpx.Response) -> str | None:
    found = ResponseValidator(DOCUMENT).problem(
        response.request.method.lower(), response.request.url.path, response
    )
    return None if found is None else str(found)


def test_documented_answers_pass() -> None:
    assert problem(answer("GET", "/items/a1", 200, {"id": "a1", "tags": ["x"]})) is None
    assert problem(answer("GET", "/items/a1", 404, {"message": "no such item"})) is None
    assert problem(answer("GET", "/items/latest", 200, [])) is None
    assert problem(answer("GET", "/items/latest", 503, {"message": "later"})) is None
    assert problem(answer("GET", "/items/a1/image", 200, content_type="image/webp")) is None


def test_a_body_off_its_schema_is_named_with_the_operation_and_the_error() -> None:
    found = problem(answer("GET", "/items/a1", 200, {"id": "a1", "tags": [3]}))
    assert found is not None
    assert "GET /items/a1 [GET /items/{item_id}] answered 200" in found
    assert "at tags/0: 3 is not of type 'string'" in found
    extra = problem(answer("GET", "/items/a1", 200, {"id": "a1", "price": 3}))
    assert extra is not None
    assert "'price' was unexpected" in extra
    assert problem(answer("GET", "/items/a1", 404, {"detail": "x"})) is not None


def test_an_undocumented_status_fails() -> None:
    found = problem(answer("GET", "/items/a1", 500, {"message": "boom"}))
    assert found is not None
    assert "status not documented (documented: 200, 4XX)" in found


def test_a_json_body_where_the_document_has_another_media_type_fails() -> None:
    found = problem(answer("GET", "/items/a1/image", 200, {"id": "a1"}))
    assert found is not None
    assert "JSON body where the document has image/webp" in found


def test_literal_paths_win_over_templates() -> None:
    # /items/latest answers an array; read as /items/{item_id} it would fail the Item schema.
    assert problem(answer("GET", "/items/latest", 200, [1, 2])) is None


def test_what_the_document_does_not_describe_is_not_checked() -> None:
    assert problem(answer("GET", "/media/a.webp", 200, {"anything": 1})) is None
    assert problem(answer("POST", "/items/a1", 405, {"anything": 1})) is None
    assert problem(answer("GET", "/items/a1/image/extra", 404, {"x": 1})) is None


async def test_strict_mode_fails_the_request_and_collect_mode_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": 7})

    transport = httpx.MockTransport(serve)
    monkeypatch.setenv(validation.MODE_VARIABLE, "strict")
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        event_hooks=response_hooks(lambda: DOCUMENT),
    ) as client:
        with pytest.raises(AssertionError, match=r"answered 200: body does not match .* at id"):
            await client.get("/items/a1")
    document = {**DOCUMENT}  # a document of its own, so its validator is this test's
    monkeypatch.setenv(validation.MODE_VARIABLE, "collect")
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        event_hooks=response_hooks(lambda: document),
    ) as client:
        assert (await client.get("/items/a1")).status_code == 200
    collected = validation.validator_for(document).mismatches
    assert [str(m.status) + " " + m.template for m in collected] == ["200 /items/{item_id}"]
    collected.clear()  # this run's own failures must not fail the run
    monkeypatch.setenv(validation.MODE_VARIABLE, "off")
    assert response_hooks(lambda: DOCUMENT) == {}
