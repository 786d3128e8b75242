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

import os
import socket
import sqlite3
from pathlib import Path

from sqlalchemy import exc as sa
from sqlalchemy.engine import make_url

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


# SQLSTATEs a server answers a connection attempt with that no retry will change: the database
# does not exist (3D000), the role may not log in or does not exist (28000), the password is
# wrong (28P01).
_REFUSED_LOGIN = {
    "3D000": "database does not exist",
    "28000": "role refused",
    "28P01": "password authentication failed",
}


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``orig``, then causes and contexts."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        item = pending.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        orig = getattr(item, "orig", None)
        pending.extend(
            [orig if isinstance(orig, BaseException) else None, item.__cause__, item.__context__]
        )
    return seen


def _postgres_cause(exc: BaseException) -> str | None:
    for item in _chain(exc):
        sqlstate = getattr(item, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate in _REFUSED_LOGIN:
            # The server's own words name the database or role ('role "x" does not exist').
            return str(item).splitlines()[0] or _REFUSED_LOGIN[sqlstate]
        if isinstance(sqlstate, str) and sqlstate.startswith(("08", "53", "57P03")):
            return str(item).splitlines()[0] or "the server refused the connection"
    for item in _chain(exc):
        if isinstance(item, ConnectionRefusedError) or "Connect call failed" in str(item):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "host name not found"
        if isinstance(item, TimeoutError):
            return "timed out"
        if isinstance(item, OSError):
            return item.strerror or str(item) or type(item).__name__
    return None


def _sqlite_cause(path: Path, exc: BaseException) -> str | None:
    if not any(isinstance(item, sa.OperationalError | sqlite3.Error) for item in _chain(exc)):
        return None
    text = " ".join(str(item) for item in _chain(exc))
    directory = path.parent
    if not directory.exists():
        return f"directory {directory} does not exist"
    if not directory.is_dir():
        return f"{directory} is not a directory"
    if path.is_dir():
        return f"{path} is a directory"
    if "readonly database" in text or not os.access(directory, os.W_OK):
        return f"directory {directory} or the file is not writable"
    if "unable to open database file" in text:
        return "unable to open the database file"
    return None


def sqlite_problem(url: str) -> str | None:
    """Why the SQLite file of ``url`` cannot be opened for writing, found before connecting.

    Checked up front because a failed open leaves aiosqlite's thread reporting to an event loop
    that is already closed, which prints a traceback after the real message.
    """
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    path = Path(database).resolve()
    directory = path.parent
    if not directory.exists():
        cause = f"directory {directory} does not exist"
    elif not directory.is_dir():
        cause = f"{directory} is not a directory"
    elif path.is_dir():
        cause = f"{path} is a directory"
    elif not os.access(directory, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        cause = f"directory {directory} or the file is not writable"
    else:
        return None
    return f"cannot open SQLite database {path}: {cause}"


def connection_failure(url: str, exc: BaseException) -> str | None:
    """One line saying which database could not be used and why, if ``exc`` is that failure.

    The operator who started a command needs the address it tried and the cause, not a
    traceback; the password is never part of the line. ``None`` for every other failure.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            return None
        path = Path(database).resolve()
        cause = _sqlite_cause(path, exc)
        return f"cannot open SQLite database {path}: {cause}" if cause else None
    cause = _postgres_cause(exc)
    if cause is None:
        return None
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    return f"cannot connect to PostgreSQL at {where}: {cause}"
