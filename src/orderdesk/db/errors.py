"""Which database failures mean "not now" rather than "never".

A request that fails because the database cannot serve it at this moment (the pool stayed busy
for the whole wait, the server refused or dropped the connection, PostgreSQL is shutting down or
out of connections, a deadlock or serialization failure rolled the transaction back, SQLite
stayed locked past its busy timeout) wrote nothing: its transaction was rolled back. The client
should retry, with its ``Idempotency-Key`` where it sent one, so the dialects answer these as
"unavailable, retry after N seconds" in their own format instead of as an internal error. Every
other database error is a defect and stays a logged 500.
"""

from __future__ import annotations

from sqlalchemy import exc as sa

# SQLSTATE classes and codes that describe the server's state, not the statement: connection
# exceptions (08), transaction rollback by deadlock or serialization (40), insufficient
# resources such as too many connections (53), and operator intervention: admin shutdown,
# crash shutdown, cannot connect now, statement timeout (57P01-57P03, 57014).
_RETRYABLE_CLASSES = ("08", "40", "53")
_RETRYABLE_CODES = frozenset({"57014", "57P01", "57P02", "57P03"})
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database could not serve the request now."""
    if isinstance(exc, sa.TimeoutError):  # waited pool_timeout for a pooled connection
        return True
    if isinstance(exc, (ConnectionError, TimeoutError)):  # raised by the driver's connect
        return True
    if not isinstance(exc, sa.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_RETRYABLE_CLASSES) or sqlstate in _RETRYABLE_CODES
    if isinstance(exc.orig, (ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, sa.OperationalError) and str(exc.orig).startswith(_SQLITE_BUSY)
