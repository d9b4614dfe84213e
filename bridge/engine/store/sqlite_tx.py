"""The SQLite dialect of :class:`~bridge.engine.store.sql_tx.SqlTx`.

Every method runs inside the transaction opened by ``SQLiteStore.transaction``. Claims use a
single ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING *`` statement; under
``BEGIN IMMEDIATE`` there is one writer at a time, so a claim can never hand a row out twice
and no statement needs a lock clause. A one-statement transaction sends no ``BEGIN`` or
``COMMIT``: the statement runs as its own (implicit) transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from bridge.engine.store.base import Row
from bridge.engine.store.sql_tx import SqlTx


class SQLiteTx(SqlTx):
    """One open SQLite transaction. See :class:`bridge.engine.store.base.Tx` for contracts."""

    conn: sqlite3.Connection

    def __init__(self, conn: sqlite3.Connection, *, single: bool = False) -> None:
        super().__init__(conn)
        #: one_statement: no BEGIN is sent; the one statement is its own transaction
        self._single = single
        self._ran = 0

    def _begin(self, sql: str) -> None:
        if not self._single:
            super()._begin(sql)

    def _commit(self) -> None:
        if not self._single:
            super()._commit()

    def _in_transaction(self) -> bool:
        return self.conn.in_transaction

    def _x(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        if self._single:
            self._ran += 1
            if self._ran > 1:
                raise AssertionError("a second statement in a one-statement transaction")
        return self.conn.execute(sql, params)

    # Rows come as sqlite3.Row; zipping its keys() with it costs a third of what dict(row)
    # does, which looks every column up again by name.
    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._x(sql, params).fetchone()
        return None if row is None else dict(zip(row.keys(), row))

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = self._x(sql, params).fetchall()
        if not rows:
            return []
        names = rows[0].keys()
        return [dict(zip(names, row)) for row in rows]

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._x(sql, params).fetchone()
        return None if row is None else row[0]
