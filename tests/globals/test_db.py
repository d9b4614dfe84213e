"""db.* on real SQLite, PostgreSQL and MariaDB databases (lua-globals §3.14).

MariaDB comes from ``ASSAY_BRIDGE_TEST_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306``;
.ci/run installs and starts it); each test gets a fresh database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.pgdb import create_database, drop_database, url_for


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = create_database("assay_bridge_db", template="template0")
    yield url_for(name).replace("postgresql://", "postgres://", 1)
    drop_database(name)


def test_sqlite_execute_and_query(lua: Callable[..., Any], tmp_path: Path) -> None:
    got = lua(
        "local c = db.connect(...)\n"
        "db.execute(c, 'create table t (id integer primary key, name text, score real, note text)')\n"
        "local a = db.execute(c, 'insert into t (name, score) values (?, ?)', {'x', 1.5})\n"
        "db.execute(c, 'insert into t (name) values (?)', {'y'})\n"
        "local rows = db.query(c, 'select * from t order by id')\n"
        "db.close(c)\n"
        "return a.rows_affected, json.encode(rows), math.type(rows[1].id)",
        f"sqlite:{tmp_path / 'x.db'}".encode())
    assert got == (1, '[{"id":1,"name":"x","score":1.5},{"id":2,"name":"y"}]', "integer")


def test_sqlite_writes_are_committed(lua: Callable[..., Any], tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'c.db'}".encode()
    lua("local c = db.connect(...) db.execute(c, 'create table t (a int)') db.execute(c, 'insert into t values (1)')", url)
    assert lua("return db.query(db.connect(...), 'select a from t')[1].a", url) == 1


def test_empty_result_is_an_empty_table(lua: Callable[..., Any]) -> None:
    assert lua("local r = db.query(db.connect('sqlite::memory:'), 'select 1 where 0') return type(r), #r") == ("table", 0)


def test_postgres_value_mapping_and_placeholders(lua: Callable[..., Any], pg_url: str) -> None:
    got = lua(
        "local c = db.connect(...)\n"
        "local r = db.query(c, 'select $1::int as i, $2::text as s, true as b, 1.5::numeric as n,"
        " 2.5::float8 as f, null as z', {7, 'x'})[1]\n"
        "db.execute(c, 'create table t (a int)')\n"
        "local e = db.execute(c, 'insert into t values (1), (2)')\n"
        "db.close(c)\n"
        "return r.i, math.type(r.i), r.s, r.b, r.n, r.f, r.z == nil, e.rows_affected", pg_url.encode())
    assert got == (7, "integer", "x", True, 1.5, 2.5, True, 2)


def test_postgres_statement_error(lua_error: Callable[..., str], pg_url: str) -> None:
    assert lua_error("db.query(db.connect(...), 'select nope')", pg_url.encode()) == (
        'db.query: error returned from database: column "nope" does not exist')


def test_sqlite_statement_error(lua_error: Callable[..., str]) -> None:
    assert lua_error("db.execute(db.connect('sqlite::memory:'), 'select nope')") == (
        "db.execute: error returned from database: (code: 1) no such column: nope")


def test_connect_error(lua_error: Callable[..., str]) -> None:
    assert lua_error("db.connect('postgres://postgres@127.0.0.1:1/x')").startswith("db.connect: ")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("db.query({}, 'select 1')", "db.query: first argument must be a db connection"),
        ("db.execute(db.connect('sqlite::memory:'), 1)", "db.execute: second argument must be a SQL string"),
        ("db.query(db.connect('sqlite::memory:'), 'select ?', {{}})", "db: unsupported parameter type: table"),
    ],
)
def test_argument_errors(lua_error: Callable[..., str], call: str, message: str) -> None:
    assert lua_error(call) == message


MYSQL_ENV = "ASSAY_BRIDGE_TEST_MYSQL_URL"  # default: root without a password on 127.0.0.1:3306 (.ci/run)


@pytest.fixture
def mysql_url() -> Iterator[str]:
    import os
    import uuid

    import pymysql  # type: ignore[import-untyped]

    server = os.environ.get(MYSQL_ENV) or "mysql://root@127.0.0.1:3306"
    host_port = server.removeprefix("mysql://").split("@")[-1].split("/")[0]
    user = server.removeprefix("mysql://").split("@")[0] if "@" in server else "root"
    host, _, port = host_port.partition(":")
    name = f"assay_bridge_db_{uuid.uuid4().hex[:12]}"
    admin = pymysql.connect(host=host, port=int(port or 3306), user=user, autocommit=True)
    try:
        admin.cursor().execute(f"CREATE DATABASE `{name}`")
        yield f"mysql://{user}@{host_port}/{name}"
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()


def test_mysql_execute_query_and_errors(lua: Callable[..., Any], lua_error: Callable[..., str], mysql_url: str) -> None:
    got = lua(
        "local c = db.connect(...)\n"
        "db.execute(c, 'create table t (id int primary key, name text, score double, n decimal(5,2), note text)')\n"
        "local e = db.execute(c, 'insert into t (id, name, score, n) values (?, ?, ?, ?), (2, \\'50%?\\', null, null)', {1, 'x', 1.5, 2.25})\n"
        "local rows = db.query(c, 'select * from t where id >= ? order by id', {1})\n"
        "db.close(c)\n"
        "return e.rows_affected, json.encode(rows)", mysql_url.encode())
    assert got == (2, '[{"id":1,"n":2.25,"name":"x","score":1.5},{"id":2,"name":"50%?"}]')
    assert lua_error("db.query(db.connect(...), 'select nope')", mysql_url.encode()).startswith("db.query: ")
