"""Webhook signatures: how a receiver knows a request came from us and was not altered.

The two wire contracts sign differently and both are fixed by their specs:

* partner (``X-Orderdesk-Signature: t=<unix>,v1=<hex>``): HMAC-SHA256 of ``"<t>.<raw body>"``,
  so a captured request cannot be replayed once the timestamp is older than the receiver's
  tolerance (5 minutes);
* restaurant (``X-Xmenu-Signature: <hex>``): HMAC-SHA256 of the raw body alone, as xMenu does.

Signatures are always computed over the exact bytes sent; verifiers compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

TIMESTAMPED_HEADER = "X-Orderdesk-Signature"
PLAIN_HEADER = "X-Xmenu-Signature"
DEFAULT_TOLERANCE = 300

Signer = Callable[[bytes, str, datetime], dict[str, str]]


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_timestamped(body: bytes, secret: str, now: datetime) -> dict[str, str]:
    """Headers for the partner contract; ``now`` becomes the signed timestamp ``t``."""
    t = int(now.timestamp())
    digest = _hmac_hex(secret, f"{t}.".encode() + body)
    return {TIMESTAMPED_HEADER: f"t={t},v1={digest}"}


def verify_timestamped(
    header: str, body: bytes, secret: str, now: datetime, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """True only for a well-formed header whose ``v1`` matches and whose ``t`` is fresh.

    Any ``v1`` among several (a sender rotating secrets may send more than one) may match.
    Timestamps more than ``tolerance`` seconds away from ``now``, in either direction, fail.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    expected = _hmac_hex(secret, f"{timestamp}.".encode() + body)
    matches = [hmac.compare_digest(expected.encode(), c.encode()) for c in candidates]
    return any(matches)


def sign_plain(body: bytes, secret: str, now: datetime) -> dict[str, str]:
    """Headers for the restaurant contract; ``now`` is unused, the contract has no timestamp."""
    return {PLAIN_HEADER: _hmac_hex(secret, body)}


def verify_plain(header: str, body: bytes, secret: str) -> bool:
    return hmac.compare_digest(_hmac_hex(secret, body).encode(), header.strip().encode())


SIGNERS: dict[str, Signer] = {
    "partner": sign_timestamped,
    "restaurant": sign_plain,
}
"""Organization kind → signer. Kinds missing here are signed with :func:`sign_timestamped`,
orderdesk's own scheme, rather than sent unsigned (see :func:`signer_for`)."""


def signer_for(organization_kind: str) -> Signer:
    return SIGNERS.get(organization_kind, sign_timestamped)
