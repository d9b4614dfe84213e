"""The SQLite dialect of :class:`~bridge.engine.store.sql_tx.SqlTx`.

Every method runs inside the transaction opened by ``SQLiteStore.transaction``. Claims use a
single ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING *`` statement; under
``BEGIN IMMEDIATE`` there is one writer at a time, so a claim can never hand a row out twice
and no statement needs a lock clause.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from bridge.engine.store.sql_tx import SqlTx


class SQLiteTx(SqlTx):
    """One open SQLite transaction. See :class:`bridge.engine.store.base.Tx` for contracts."""

    conn: sqlite3.Connection

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)

    def _x(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)
