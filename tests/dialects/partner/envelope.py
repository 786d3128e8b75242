"""Assertions on the partner API's exact envelopes, shared by the partner dialect tests."""

from __future__ import annotations

from typing import Any

import httpx

ERROR_KINDS = {
    401: ("UnAuthorizedError", "NO_RIGHTS"),
    404: ("NotFoundError", "NOT_FOUND"),
    413: ("PayloadTooLargeError", "PAYLOAD_TOO_LARGE"),
    422: ("ValidationError", "VALIDATION_ERROR"),
    429: ("TooManyRequestsError", "RATE_LIMIT"),
}

UNAUTHORIZED = {
    "name": "UnAuthorizedError",
    "message": "Unauthorized",
    "code": 401,
    "type": "NO_RIGHTS",
    "statusCode": 401,
    "status": "error",
    "data": None,
}


def ok_data(response: httpx.Response) -> Any:
    """The ``data`` of a success envelope, after checking the envelope is exactly that."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"status", "statusCode", "data"}, body
    assert body["status"] == "ok"
    assert body["statusCode"] == 200
    return body["data"]


def error_body(response: httpx.Response, code: int) -> dict[str, Any]:
    """The error envelope, checked for its fixed keys, name/type and HTTP status == code."""
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"name", "message", "code", "type", "statusCode", "status", "data"}, body
    name, kind = ERROR_KINDS[code]
    assert body["name"] == name
    assert body["type"] == kind
    assert body["code"] == code
    assert body["statusCode"] == code
    assert body["status"] == "error"
    assert isinstance(body["message"], str) and body["message"]
    return body


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED


def validation_errors(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """The 422's field errors keyed by field; each entry has exactly type/message/field."""
    body = error_body(response, 422)
    errors = body["data"]
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert set(error) == {"type", "message", "field"}, error
        assert isinstance(error["message"], str) and error["message"]
    return {error["field"]: error for error in errors}
