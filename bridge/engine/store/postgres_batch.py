"""Several statements of one PostgreSQL transaction in one round trip, with cached plans.

:class:`~bridge.engine.store.postgres_tx.PostgresTx` sends ``BEGIN`` with the transaction's
first statement, and a write whose outcome nobody reads with the statement after it (or with
``COMMIT``). A batch is one *simple query* (statements separated by ``;``, run in order, each
with its own snapshot at READ COMMITTED, stopping at the first error); a simple query takes no
bound parameters, so each statement goes as ``EXECUTE name(literal, ...)`` of a statement the
connection prepared (``PREPARE name AS ...``, put in front of the first batch that needs it):
the plan is cached as psycopg's own prepared statements are, and the values are literals quoted
by psycopg (:class:`psycopg.sql.Literal`), coerced by the server to the parameter types it
inferred when preparing.

Prepared statements belong to the session and survive a rollback. A batch that fails may or
may not have run the ``PREPARE`` it carried, so such a statement is prepared again under a new
name next time (the old one, if it exists, is left unused). psycopg answers a ``ROLLBACK`` it
runs with ``DEALLOCATE ALL`` (against objects dropped and re-created in the transaction, which
the engine's transactions never do), so :func:`rollback` goes to libpq directly. Should the
session lose its prepared statements all the same, the statement fails with SQLSTATE 26000
(retryable, see ``postgres.translate_error``) and this connection prepares everything again.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import pq, sql
from psycopg.rows import DictRow

#: What a batch holds: a statement with ``%s`` placeholders and its values, or plain SQL
#: (``BEGIN``, ``COMMIT``, a ``pg_notify`` with its literals already quoted).
Part = tuple[bytes, Sequence[Any]] | bytes

_PLACEHOLDER = re.compile(rb"%s")
_numbers: dict[bytes, int] = {}  # statement text -> its number in prepared names
_numbers_lock = threading.Lock()


@dataclass
class _Session:
    """What one connection has prepared: statement number -> the version of its name."""

    prepared: dict[int, int] = field(default_factory=dict)
    renamed: dict[int, int] = field(default_factory=dict)  # next version after a failure


_sessions: weakref.WeakKeyDictionary[psycopg.Connection[DictRow], _Session] = (
    weakref.WeakKeyDictionary())
_sessions_lock = threading.Lock()


def _number(statement: bytes) -> int:
    number = _numbers.get(statement)
    if number is None:
        with _numbers_lock:
            number = _numbers.setdefault(statement, len(_numbers))
    return number


def _session(conn: psycopg.Connection[DictRow]) -> _Session:
    session = _sessions.get(conn)
    if session is None:
        with _sessions_lock:
            session = _sessions.setdefault(conn, _Session())
    return session


def _numbered(statement: bytes) -> bytes:
    """``%s`` placeholders as ``$1``, ``$2`` ... (the SQL is ours: no other ``%``)."""
    count = iter(range(1, 1 << 16))
    return _PLACEHOLDER.sub(lambda _: b"$%d" % next(count), statement)


def send(conn: psycopg.Connection[DictRow], parts: Sequence[Part]) -> psycopg.Cursor[DictRow]:
    """Run ``parts`` as one simple query; the cursor is left on the last statement's result.

    Raises the driver's error of the first statement that fails (the ones after it did not
    run; the transaction is then aborted, as after any failed statement).
    """
    session = _session(conn)
    texts: list[bytes] = []
    preparing: dict[int, int] = {}
    for part in parts:
        if isinstance(part, bytes):
            texts.append(part)
            continue
        statement, params = part
        number = _number(statement)
        version = session.prepared.get(number)
        if version is None:
            version = preparing.get(number)
        if version is None:
            version = session.renamed.get(number, 0)
            preparing[number] = version
            texts.append(b"PREPARE assay_%d_%d AS %s" % (number, version, _numbered(statement)))
        values = b", ".join(sql.Literal(v).as_bytes(conn) for v in params)
        texts.append(b"EXECUTE assay_%d_%d(%s)" % (number, version, values) if params
                     else b"EXECUTE assay_%d_%d" % (number, version))
    try:
        cursor = conn.execute(b"; ".join(texts))
    except psycopg.errors.InvalidSqlStatementName:
        session.prepared.clear()  # the session's prepared statements are gone: start afresh
        session.renamed.clear()
        raise
    except BaseException:
        for number, version in preparing.items():  # perhaps prepared, perhaps not
            session.renamed[number] = version + 1
        raise
    session.prepared.update(preparing)
    while cursor.nextset():
        pass
    return cursor


def rollback(conn: psycopg.Connection[DictRow]) -> None:
    """``ROLLBACK`` through libpq, keeping the session's prepared statements (psycopg's and
    this module's; see the module docstring)."""
    result = conn.pgconn.exec_(b"ROLLBACK")
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
