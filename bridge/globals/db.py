"""``db.connect/query/execute/close`` (lua-globals §3.14), async in assay's sense.

The URL scheme picks the driver: ``sqlite:`` the stdlib ``sqlite3``, ``postgres://`` (and
``postgresql://``) psycopg 3 (the ``postgres`` extra), ``mysql://`` PyMySQL (the ``mysql``
extra). Placeholders are the driver's as in assay: ``$1`` for PostgreSQL (psycopg's raw
cursor), ``?`` for SQLite and MySQL. Statements run on an I/O thread (plain Python); a
connection serialises its statements with a lock.

Values: booleans, integers and floats as such; ``Decimal`` (NUMERIC) as a float; NULL leaves
the key out; bytes as a string; anything else as its text.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, is_table
from bridge.runtime.lua import lua_type
from bridge.runtime.scheduler import Blocking, Outcome, Pending

if TYPE_CHECKING:
    from bridge.runtime.host import LuaHost


# Plain classes, not dataclasses: importing dataclasses costs every ``assay-bridge run`` a
# tenth of its start (W7 cold start).
class DbConnection:
    """One ``db.connect`` connection (a DB-API connection and its dialect)."""

    __slots__ = ("kind", "raw", "lock", "closed")

    def __init__(self, kind: str, raw: Any) -> None:
        self.kind = kind
        self.raw = raw
        self.lock = threading.Lock()
        self.closed = False

    def run(self, fn_name: str, sql: str, params: list[Any], fetch: bool) -> Any:
        """Run one statement: rows (``fetch``) or the affected-row count."""
        with self.lock:
            if self.closed:
                raise LuaCallError(f"{fn_name}: connection closed")
            try:
                cur = self.raw.cursor()
                if self.kind == "mysql":
                    sql = _qmark_to_format(sql)
                cur.execute(sql, tuple(params))
                if fetch:
                    if cur.description is None:
                        rows: list[dict[str, Any]] = []
                    else:
                        names = [d[0] for d in cur.description]
                        rows = [_row(names, r) for r in cur.fetchall()]
                    result: Any = rows
                else:
                    result = max(cur.rowcount, 0)
                cur.close()
                if self.kind == "sqlite" and self.raw.in_transaction:
                    self.raw.commit()
                return result
            except LuaCallError:
                raise
            except Exception as exc:  # noqa: BLE001 - any driver error becomes assay's text
                _rollback(self)
                raise LuaCallError(f"{fn_name}: {_driver_text(exc)}") from None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self.lock:
            if not self.closed:
                self.closed = True
                try:
                    self.raw.close()
                except Exception:  # noqa: BLE001 - closing a broken connection
                    pass


class DbState:
    """The connections a runtime opened (closed when it closes)."""

    def __init__(self) -> None:
        self.connections: list[DbConnection] = []

    def close(self) -> None:
        """Close every connection."""
        for c in self.connections:
            c.close()
        self.connections.clear()


def _rollback(conn: DbConnection) -> None:
    try:
        if conn.kind == "sqlite":
            if conn.raw.in_transaction:
                conn.raw.rollback()
        else:
            conn.raw.rollback()
    except Exception:  # noqa: BLE001 - the statement's error is what the script sees
        pass


def _driver_text(exc: BaseException) -> str:
    """sqlx's wording for an error the database returned; the driver's text otherwise."""
    diag = getattr(exc, "diag", None)  # psycopg
    primary = getattr(diag, "message_primary", None)
    if primary:
        return f"error returned from database: {primary}"
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return f"error returned from database: (code: {code}) {exc}"
    return str(exc).strip() or type(exc).__name__


def _qmark_to_format(sql: str) -> str:
    """``?`` placeholders to PyMySQL's ``%s`` (outside quotes); ``%`` doubled."""
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append("%%" if ch == "%" else ch)
    return "".join(out)


def _value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    import decimal  # only drivers make Decimals, and they import it

    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _row(names: list[str], values: Any) -> dict[str, Any]:
    return {n: _value(v) for n, v in zip(names, values) if v is not None}


def open_connection(url: str) -> DbConnection:
    """Open the connection ``url`` names (any thread); errors as ``db.connect: ...``."""
    try:
        if url.startswith("sqlite:"):
            import sqlite3

            path = url[len("sqlite:"):]
            if path.startswith("//"):
                path = path[2:]
            path = path.split("?", 1)[0] or ":memory:"
            raw: Any = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            return DbConnection("sqlite", raw)
        if url.startswith(("postgres://", "postgresql://")):
            try:
                import psycopg
            except ImportError:
                raise LuaCallError("db.connect: postgres:// needs psycopg: pip install psycopg[binary,pool] (the postgres extra)") from None
            pg = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.RawCursor)
            return DbConnection("postgres", pg)
        if url.startswith("mysql://"):
            try:
                import pymysql  # type: ignore[import-untyped]
            except ImportError:
                raise LuaCallError("db.connect: mysql:// needs PyMySQL: pip install PyMySQL (the mysql extra)") from None
            from urllib.parse import unquote, urlsplit

            parts = urlsplit(url)
            my = pymysql.connect(host=parts.hostname or "localhost", port=parts.port or 3306,
                                 user=unquote(parts.username or ""),
                                 password=unquote(parts.password or ""),
                                 database=parts.path.lstrip("/") or None, autocommit=True)
            return DbConnection("mysql", my)
    except LuaCallError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes assay's text
        raise LuaCallError(f"db.connect: {_driver_text(exc)}") from None
    raise LuaCallError(f"db.connect: unsupported database URL: {url}")


def _params(fn_name: str, params: Any) -> list[Any]:
    if params is None:
        return []
    if not is_table(params):
        raise LuaCallError(f"db: unsupported parameter type: {lua_type(params)}")
    out: list[Any] = []
    n = len(params)
    for i in range(1, n + 1):
        v = params[i]
        if v is None or isinstance(v, (bool, int, float)):
            out.append(v)
        elif isinstance(v, bytes):
            out.append(v.decode("utf-8", "replace"))
        else:
            raise LuaCallError(f"db: unsupported parameter type: {lua_type(v)}")
    return out


def install(rt: LuaHost) -> None:
    """Install the ``db`` global."""
    db_state = rt.provide(DbState(), close=lambda: db_state.close())
    connections = db_state.connections

    def begin_connect(url: Any = None, *_: Any) -> Pending:
        if not isinstance(url, bytes):
            raise LuaCallError("db.connect: first argument must be a URL string")
        return Blocking(lambda: open_connection(url.decode("utf-8", "replace")))

    def finish_connect(outcome: Outcome) -> Any:
        conn = outcome.unwrap()
        connections.append(conn)
        return conn

    def statement(name: str, fetch: bool) -> Any:
        fn_name = f"db.{name}"

        def begin(conn: Any = None, sql: Any = None, params: Any = None, *_: Any) -> Pending:
            if not isinstance(conn, DbConnection):
                raise LuaCallError(f"{fn_name}: first argument must be a db connection")
            if not isinstance(sql, bytes):
                raise LuaCallError(f"{fn_name}: second argument must be a SQL string")
            text = sql.decode("utf-8", "replace")
            values = _params(fn_name, params)
            return Blocking(lambda: conn.run(fn_name, text, values, fetch))

        def finish(outcome: Outcome) -> Any:
            value = outcome.unwrap()
            if fetch:
                return rt.to_lua(value) if value else rt.lua.table()
            return rt.to_lua({"rows_affected": value})

        return rt.scheduler.async_function(fn_name, begin, finish)

    def begin_close(conn: Any = None, *_: Any) -> Pending:
        if not isinstance(conn, DbConnection):
            raise LuaCallError("db.close: first argument must be a db connection")
        return Blocking(conn.close)

    def finish_close(outcome: Outcome) -> None:
        outcome.unwrap()

    table = rt.lua.table()
    table[b"connect"] = rt.scheduler.async_function("db.connect", begin_connect, finish_connect)
    table[b"query"] = statement("query", True)
    table[b"execute"] = statement("execute", False)
    table[b"close"] = rt.scheduler.async_function("db.close", begin_close, finish_close)
    rt.set_global("db", table)
