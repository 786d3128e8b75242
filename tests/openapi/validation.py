"""Every answer the test suite receives must be one the OpenAPI document describes.

A client generated from ``/openapi.json`` trusts it: a status the document does not list, or a
body that does not fit the documented schema, breaks such a client even when our own tests,
which read the JSON by hand, pass. So the shared test clients carry an httpx response hook that
checks each answer of a documented operation against the document, and the two thousand tests
become two thousand checks of the documentation.

Answers on paths outside the document (images under ``/media``, ``/docs``, the ``/partner/v1``
alias) and to methods it does not list (a 405 for a GET on a POST route) are not checked.

``RESPONSE_VALIDATION`` chooses what a mismatch does: ``strict`` (the default) raises
an AssertionError at the request, so the test that received the answer fails; ``collect`` lets
every test go on and fails the run at its end with all mismatches listed, grouped by operation
and status (for a survey while the document is being reworked); ``off`` checks nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

MODE_VARIABLE = "RESPONSE_VALIDATION"
MODES = ("strict", "collect", "off")
DOCUMENT_URI = "urn:orderdesk:openapi"
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def mode() -> str:
    value = os.environ.get(MODE_VARIABLE, "strict").strip().lower()
    if value not in MODES:
        raise ValueError(f"{MODE_VARIABLE}={value!r}: expected one of {', '.join(MODES)}")
    return value


def _pointer(*parts: str) -> str:
    return "".join("/" + quote(p.replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)


def _template_pattern(template: str) -> re.Pattern[str]:
    """``/partner/order/{order_id}`` as a pattern matching one path segment per parameter."""
    pieces = re.split(r"(\{[^}/]+\})", template)
    return re.compile(
        "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in pieces if p) + "$"
    )


@dataclass(frozen=True)
class Expected:
    """What the document says one operation answers with one status."""

    status_key: str
    json_schema: Validator | None  # None: the documented answer has no JSON body
    media_types: tuple[str, ...]


@dataclass
class Mismatch:
    method: str
    path: str
    template: str
    status: int
    problem: str
    test: str = ""

    def __str__(self) -> str:
        where = f" (in {self.test})" if self.test else ""
        return (
            f"{self.method} {self.path} [{self.method} {self.template}] answered {self.status}: "
            f"{self.problem}{where}"
        )


@dataclass
class ResponseValidator:
    """Checks answers against one document; validators are built once per operation and
    status, and a concrete path's template is looked up once."""

    document: dict[str, Any]
    mismatches: list[Mismatch] = field(default_factory=list)

    def __post_init__(self) -> None:
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        paths: dict[str, Any] = self.document.get("paths", {})
        # Literal paths before templated ones, so /orders/list is not read as /orders/{id}.
        ordered = sorted(paths, key=lambda t: (t.count("{"), -len(t)))
        self._templates = [(_template_pattern(t), t) for t in ordered]
        self._template_of: dict[str, str | None] = {}
        self._expected: dict[tuple[str, str, int], Expected | None] = {}

    def template(self, path: str) -> str | None:
        if path not in self._template_of:
            self._template_of[path] = next(
                (t for pattern, t in self._templates if pattern.match(path)), None
            )
        return self._template_of[path]

    def expected(self, template: str, method: str, status: int) -> Expected | None:
        """The documented answer for the status: exact, else ``4XX``-style, else ``default``."""
        key = (template, method, status)
        if key not in self._expected:
            self._expected[key] = self._build(template, method, status)
        return self._expected[key]

    def _build(self, template: str, method: str, status: int) -> Expected | None:
        responses: dict[str, Any] = self.document["paths"][template][method]["responses"]
        for status_key in (str(status), f"{status // 100}XX", "default"):
            if status_key in responses:
                break
        else:
            return None
        response = responses[status_key]
        location = ("paths", template, method, "responses", status_key)
        if "$ref" in response:
            ref = response["$ref"]
            location = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
            response = self._resolve(ref)
        content: dict[str, Any] = response.get("content", {})
        json_type = next((m for m in content if JSON_TYPE.match(m.split(";")[0])), None)
        validator: Validator | None = None
        if json_type is not None and "schema" in content[json_type]:
            pointer = _pointer(*location, "content", json_type, "schema")
            validator = OAS31Validator(
                {"$ref": f"{DOCUMENT_URI}#{pointer}"},
                registry=self._registry,
                format_checker=oas31_format_checker,
            )
        return Expected(status_key, validator, tuple(content))

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        result: dict[str, Any] = node
        return result

    def problem(self, method: str, path: str, response: httpx.Response) -> Mismatch | None:
        """Why this answer is not one the document describes, or None when it is (or when the
        document says nothing about the operation)."""
        template = self.template(path)
        if template is None or method not in self.document["paths"][template]:
            return None
        status = response.status_code

        def mismatch(problem: str) -> Mismatch:
            return Mismatch(method.upper(), path, template, status, problem, _current_test)

        expected = self.expected(template, method, status)
        if expected is None:
            documented = sorted(self.document["paths"][template][method]["responses"])
            return mismatch(f"status not documented (documented: {', '.join(documented)})")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not JSON_TYPE.match(content_type):
            return None
        if expected.json_schema is None:
            media = ", ".join(expected.media_types) or "no body"
            return mismatch(f"JSON body where the document has {media}")
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            return mismatch(f"body is not JSON: {exc}")
        error = best_match(expected.json_schema.iter_errors(body))
        if error is None:
            return None
        at = "/".join(str(p) for p in error.absolute_path) or "(body)"
        schema_at = "/".join(str(p) for p in error.absolute_schema_path)
        return mismatch(
            f"body does not match the {expected.status_key} schema at {at}: {error.message} "
            f"[schema: {schema_at}]"
        )

    def check(self, response: httpx.Response, *, strict: bool) -> None:
        found = self.problem(response.request.method.lower(), response.request.url.path, response)
        if found is None:
            return
        if strict:
            raise AssertionError(f"answer not as documented: {found}")
        self.mismatches.append(found)


_validators: dict[int, tuple[dict[str, Any], ResponseValidator]] = {}
_current_test = ""


def validator_for(document: dict[str, Any]) -> ResponseValidator:
    """One validator per document object, so every client of one app shares the caches."""
    cached = _validators.get(id(document))
    if cached is None or cached[0] is not document:
        cached = (document, ResponseValidator(document))
        _validators[id(document)] = cached
    return cached[1]


def all_mismatches() -> list[Mismatch]:
    return [m for _, validator in _validators.values() for m in validator.mismatches]


def set_current_test(nodeid: str) -> None:
    global _current_test
    _current_test = nodeid


def response_hooks(
    openapi: Callable[[], dict[str, Any]],
) -> dict[str, list[Callable[[httpx.Response], Awaitable[None]]]]:
    """``event_hooks`` for an ``httpx.AsyncClient`` whose answers are to be checked against the
    document ``openapi()`` returns (FastAPI's ``app.openapi``, built once and cached by it)."""
    chosen = mode()
    if chosen == "off":
        return {}
    strict = chosen == "strict"

    async def check(response: httpx.Response) -> None:
        await response.aread()
        validator_for(openapi()).check(response, strict=strict)

    return {"response": [check]}


def summary(limit: int = 200) -> str:
    """The run's mismatches, grouped by operation and status, most frequent first."""
    groups: dict[tuple[str, str, int], list[Mismatch]] = {}
    for m in all_mismatches():
        groups.setdefault((m.method, m.template, m.status), []).append(m)
    lines = [
        f"{sum(len(g) for g in groups.values())} answers in {len(groups)} (operation, status) "
        "pairs are not as the OpenAPI document describes them:"
    ]
    ranked = sorted(groups.items(), key=lambda item: -len(item[1]))
    for (method, template, status), group in ranked[:limit]:
        first = group[0]
        lines.append(f"  {method} {template} {status} x{len(group)}: {first.problem}")
        lines.append(f"      first seen in {first.test or '(outside a test)'}")
    if len(ranked) > limit:
        lines.append(f"  ... and {len(ranked) - limit} more pairs")
    return "\n".join(lines)
