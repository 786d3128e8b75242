"""The OpenAPI document as generators and documentation browsers need it.

Beyond being valid, a document is read by tools that group operations by tag, show a summary
per operation, and send requests to its ``servers``; what each of them lacks here is a gap a
reader of /docs or a generated client's user runs into.
"""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_document_is_valid_openapi(openapi_document: dict[str, Any]) -> None:
    validate(openapi_document)


def test_every_operation_has_tags_and_a_summary_or_description(
    openapi_document: dict[str, Any],
) -> None:
    untagged = [f"{m} {p}" for m, p, op in operations(openapi_document) if not op.get("tags")]
    unexplained = [
        f"{m} {p}"
        for m, p, op in operations(openapi_document)
        if not (op.get("summary") or op.get("description"))
    ]
    assert not untagged, f"operations without tags: {untagged}"
    assert not unexplained, f"operations without summary or description: {unexplained}"


def test_document_names_its_servers_and_a_contact(openapi_document: dict[str, Any]) -> None:
    servers = openapi_document.get("servers")
    assert servers, "no `servers`: generators and Swagger UI's Try it out need a base URL"
    assert all(server.get("url") for server in servers), servers
    contact = openapi_document["info"].get("contact")
    assert contact, "no `info.contact`: an integrator has nobody to ask"
    assert contact.get("url") or contact.get("email") or contact.get("name"), contact


def test_every_tag_used_is_declared(openapi_document: dict[str, Any]) -> None:
    used = {tag for _, _, op in operations(openapi_document) for tag in op.get("tags", [])}
    declared = [tag["name"] for tag in openapi_document.get("tags", [])]
    assert len(declared) == len(set(declared)), f"tags declared twice: {declared}"
    undeclared = sorted(used - set(declared))
    assert not undeclared, f"tags used but not declared in `tags`: {undeclared}"
    undescribed = [
        tag["name"] for tag in openapi_document.get("tags", []) if not tag.get("description")
    ]
    assert not undescribed, f"declared tags without a description: {undescribed}"
