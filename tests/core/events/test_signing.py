"""Webhook signatures of both wire contracts, checked against independently computed HMACs."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from orderdesk.core.events.signing import (
    SIGNERS,
    sign_plain,
    sign_timestamped,
    signer_for,
    verify_plain,
    verify_timestamped,
)

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
BODY = b'{"event":"order.created","data":{"id":1}}'
SECRET = "whsec_test"


def test_timestamped_header_is_hmac_of_timestamp_dot_body() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)["X-Orderdesk-Signature"]
    t = int(NOW.timestamp())
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={t},v1={expected}"


def test_timestamped_signature_verifies() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)["X-Orderdesk-Signature"]
    assert verify_timestamped(header, BODY, SECRET, NOW + timedelta(seconds=299))


def test_timestamped_rejects_tampered_body() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)["X-Orderdesk-Signature"]
    assert not verify_timestamped(header, BODY.replace(b"1", b"2"), SECRET, NOW)


def test_timestamped_rejects_wrong_secret() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)["X-Orderdesk-Signature"]
    assert not verify_timestamped(header, BODY, "another secret", NOW)


def test_timestamped_rejects_signature_older_than_five_minutes() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)["X-Orderdesk-Signature"]
    assert not verify_timestamped(header, BODY, SECRET, NOW + timedelta(seconds=301))


def test_timestamped_rejects_signature_from_the_future() -> None:
    header = sign_timestamped(BODY, SECRET, NOW + timedelta(minutes=10))["X-Orderdesk-Signature"]
    assert not verify_timestamped(header, BODY, SECRET, NOW)


def test_timestamped_rejects_shifted_timestamp_with_old_digest() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)["X-Orderdesk-Signature"]
    digest = header.split("v1=")[1]
    forged = f"t={int(NOW.timestamp()) + 600},v1={digest}"
    assert not verify_timestamped(forged, BODY, SECRET, NOW + timedelta(minutes=10))


def test_timestamped_rejects_malformed_headers() -> None:
    for header in (
        "",
        "garbage",
        "t=abc,v1=00",
        "v1=00",
        f"t={int(NOW.timestamp())}",
        "t=1,v1=ünïcode",
    ):
        assert not verify_timestamped(header, BODY, SECRET, NOW), header


def test_plain_header_is_hmac_of_raw_body() -> None:
    header = sign_plain(BODY, SECRET, NOW)["X-Xmenu-Signature"]
    assert header == hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert verify_plain(header, BODY, SECRET)


def test_plain_rejects_tampered_body_and_wrong_secret() -> None:
    header = sign_plain(BODY, SECRET, NOW)["X-Xmenu-Signature"]
    assert not verify_plain(header, BODY + b" ", SECRET)
    assert not verify_plain(header, BODY, "another secret")
    assert not verify_plain("", BODY, SECRET)


def test_each_organization_kind_uses_its_contract() -> None:
    assert SIGNERS["partner"] is sign_timestamped
    assert SIGNERS["restaurant"] is sign_plain
    assert signer_for("some-future-dialect") is sign_timestamped
