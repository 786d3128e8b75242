"""Secrets that travel in URLs kept out of the server's access log.

The restaurant API puts an order's token in the query string (``POST /api/order/confirm?uid=&
token=``, as the original API does), and uvicorn logs every request line with its query string.
The filter rewrites the values of secret-bearing query parameters in uvicorn's access records to
``***`` before any handler sees them; the rest of the line (method, path, other parameters,
status) is kept for operators.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMETERS = (
    "token",
    "access_token",
    "refresh_token",
    "client_secret",
    "secret",
    "password",
    "api_key",
    "apikey",
)
_SECRET_VALUE = re.compile(
    r"([?&](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&#\s]*", re.IGNORECASE
)


def redact_url(text: str) -> str:
    """``text`` with the value of every secret query parameter replaced by ``***``."""
    return _SECRET_VALUE.sub(r"\1***", text)


def _redact_access_record(record: logging.LogRecord) -> bool:
    if isinstance(record.args, tuple):
        record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
    return True


def install_log_redaction() -> None:
    """Attach the filter to uvicorn's access logger (idempotent: one filter object)."""
    logging.getLogger("uvicorn.access").addFilter(_redact_access_record)
