"""Which database errors are about the database rather than the message, decided by type and code.

A chat turn that fails with a *transient* error (a lock held too long, a lost connection, a server
shutting down, a timeout) is tried again and, when it keeps failing, not acknowledged to the provider,
which sends the message again later. Any other database error is the message's own (a constraint, a
bug): the message is recorded as seen and answered with an apology.

The decision reads the error's type and its code, never its text:

* ``OSError`` and ``TimeoutError`` (refused or reset connections, the driver's and the pool's timeouts,
  :class:`db.database.PoolTimeout`, :class:`db.database.DatabaseNotAnswering`);
* a SQLAlchemy ``DBAPIError`` whose connection SQLAlchemy found dropped (``connection_invalidated``);
* PostgreSQL: the SQLSTATE of the driver's error (asyncpg's ``sqlstate``, copied by SQLAlchemy's adapter
  to the ``orig`` it wraps): :data:`TRANSIENT_SQLSTATE_CLASSES` and :data:`TRANSIENT_SQLSTATES`;
* SQLite: the primary result code of the ``sqlite3`` error (``sqlite_errorcode``): :data:`TRANSIENT_SQLITE_CODES`.
"""
from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

#: SQLSTATE classes that are transient as a whole: 08 connection exception, 53 insufficient resources
#: (too many connections, out of memory or disk on the server)
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53"})
#: single transient SQLSTATEs
TRANSIENT_SQLSTATES = frozenset({
    "40001",  # serialization_failure ("could not serialize access")
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
    "57014",  # query_canceled (statement_timeout)
    "57P01",  # admin_shutdown ("terminating connection due to administrator command")
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now (the server is starting or stopping)
})
#: SQLite primary result codes that are transient: another writer holds the lock, the file cannot be
#: read, written or opened right now
TRANSIENT_SQLITE_CODES = frozenset({
    5,   # SQLITE_BUSY ("database is locked")
    6,   # SQLITE_LOCKED ("database table is locked")
    10,  # SQLITE_IOERR ("disk I/O error")
    14,  # SQLITE_CANTOPEN ("unable to open database file")
})
SQLITE_BUSY = 5


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own error: ``exc.orig`` for an error SQLAlchemy wrapped, else ``exc``."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE of a database error (wrapped by SQLAlchemy or the driver's own), or None."""
    for error in (_driver_error(exc), _driver_error(exc).__cause__):
        code = getattr(error, "sqlstate", None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def sqlite_code(exc: BaseException) -> int | None:
    """The SQLite primary result code of a database error (wrapped by SQLAlchemy or ``sqlite3``'s own), or None."""
    error = _driver_error(exc)
    code = getattr(error, "sqlite_errorcode", None) if isinstance(error, sqlite3.Error) else None
    return code & 0xFF if isinstance(code, int) else None


def is_sqlite_busy(exc: BaseException) -> bool:
    """Whether SQLite refused because another connection holds the lock (SQLITE_BUSY)."""
    return sqlite_code(exc) == SQLITE_BUSY


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from the database or the way to it (rather than from a step's own code)."""
    return isinstance(exc, (DBAPIError, sqlite3.Error, OSError, TimeoutError)) or sqlstate(exc) is not None


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is about the database, not the message: locks, lost connections, timeouts."""
    if isinstance(exc, (OSError, TimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = sqlstate(exc)
    if code is not None:
        return code in TRANSIENT_SQLSTATES or code[:2] in TRANSIENT_SQLSTATE_CLASSES
    return sqlite_code(exc) in TRANSIENT_SQLITE_CODES
