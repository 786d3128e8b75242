"""Every dialect has a deliberate answer for every domain error, in its own error shape.

The domain errors are the subclasses of ``DomainError`` in ``orderdesk.core.errors`` (the one
place they are defined). A new error without a row in a dialect's table would fall back to the
row of its base class: this test makes that a decision someone took, not an accident.
"""

from __future__ import annotations

import inspect
import json

import pytest

from orderdesk.core import errors as core_errors
from orderdesk.core.errors import DomainError, FieldError
from orderdesk.dialects.base import Dialect, installed

SAMPLES: dict[type[DomainError], DomainError] = {
    core_errors.DomainError: DomainError("something is wrong"),
    core_errors.ValidationFailed: core_errors.ValidationFailed(
        errors=[FieldError("location", "required", "is required")]
    ),
    core_errors.NotFound: core_errors.NotFound("no such order"),
    core_errors.Conflict: core_errors.Conflict("cannot cancel a completed order"),
    core_errors.Unauthorized: core_errors.Unauthorized("wrong password"),
    core_errors.Throttled: core_errors.Throttled("slow down", retry_after=7),
    core_errors.Unavailable: core_errors.Unavailable("database busy", retry_after=2),
    core_errors.IdempotencyInProgress: core_errors.IdempotencyInProgress("in progress"),
    core_errors.IdempotencyMismatch: core_errors.IdempotencyMismatch("another body"),
    core_errors.InvalidToken: core_errors.InvalidToken("token: does not match"),
    core_errors.OrderTimedOut: core_errors.OrderTimedOut("countdown ran out"),
    core_errors.StaleOrder: core_errors.StaleOrder(3, None),
    core_errors.GeocoderUnavailable: core_errors.GeocoderUnavailable("geocoder down"),
    core_errors.BodyTooLarge: core_errors.BodyTooLarge(1000),
    core_errors.StorageUnavailable: core_errors.StorageUnavailable("disk full", retry_after=30),
    core_errors.DecodeBusy: core_errors.DecodeBusy("decoders busy", retry_after=5),
}

DOMAIN_ERRORS = [
    cls
    for _, cls in inspect.getmembers(core_errors, inspect.isclass)
    if issubclass(cls, DomainError) and cls.__module__ == core_errors.__name__
]
DIALECTS = {d.name: d for d in installed()}


def test_every_domain_error_has_a_sample() -> None:
    assert set(SAMPLES) == set(DOMAIN_ERRORS)


@pytest.mark.parametrize("dialect_name", sorted(DIALECTS))
@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_dialect_maps_every_domain_error(dialect_name: str, error: type[DomainError]) -> None:
    dialect: Dialect = DIALECTS[dialect_name]
    assert error in dialect.errors, f"{dialect_name} has no row for {error.__name__}"
    response = dialect.render_error(SAMPLES[error])
    body = json.loads(bytes(response.body))
    if dialect_name == "partner":
        assert body["status"] == "error"
        assert body["code"] == body["statusCode"] == response.status_code
    else:
        assert body["success"] is False
        assert body["error"].isupper()
    if isinstance(SAMPLES[error], core_errors.Throttled | core_errors.Unavailable):
        assert response.headers["retry-after"].isdigit()


def test_a_missing_parameter_is_named_so_whatever_rule_noticed_it() -> None:
    restaurant = DIALECTS["restaurant"]
    missing_location = core_errors.ValidationFailed(
        errors=[FieldError("subrestaurant_uid", "required", "choose one", "location_not_found")]
    )
    body = json.loads(bytes(restaurant.render_error(missing_location).body))
    assert body["error"] == "MISSING_PARAMETER"
    unknown_location = core_errors.ValidationFailed(
        errors=[FieldError("subrestaurant_uid", "not_found", "no such", "location_not_found")]
    )
    body = json.loads(bytes(restaurant.render_error(unknown_location).body))
    assert body["error"] == "SUBRESTAURANT_NOT_FOUND"


def test_a_paused_location_is_answered_like_a_closed_one() -> None:
    paused = core_errors.ValidationFailed(
        errors=[
            FieldError("subrestaurant_uid", "unavailable", "not taking orders", "location_paused")
        ]
    )
    body = json.loads(bytes(DIALECTS["restaurant"].render_error(paused).body))
    assert (body["error"], body["message"]) == (
        "VALIDATION_ERROR",
        "subrestaurant_uid: not taking orders",
    )
    store = core_errors.ValidationFailed(
        errors=[
            FieldError(
                "partner_details.store_id", "unavailable", "not taking orders", "location_paused"
            )
        ]
    )
    response = DIALECTS["partner"].render_error(store)
    assert response.status_code == 422
    assert json.loads(bytes(response.body))["data"] == [
        {"type": "unavailable", "message": "not taking orders", "field": "partner_details.store_id"}
    ]
