"""Throwaway PostgreSQL databases for the engine tests.

The server comes from ``ASSAY_BRIDGE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Once per schema, a template database is
created and migrated; every test then gets ``CREATE DATABASE ... TEMPLATE`` (a file copy, a few
tens of milliseconds) and the database is dropped afterwards. Names are random, so parallel
pytest-xdist workers and concurrent runs never collide; the template is built under an
advisory lock on a dedicated (unpooled) admin connection.

An unreachable server fails the test loudly: CI starts PostgreSQL (``.ci/run``), and a silent
skip would hide a whole backend.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from bridge.engine.store.postgres import PostgresStore, migrations

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENV = "ASSAY_BRIDGE_TEST_POSTGRES_URL"


def base_url() -> str:
    """The test server URL (its database is used only for administration)."""
    return os.environ.get(ENV) or DEFAULT_URL


def url_for(database: str) -> str:
    """The base URL pointing at another database on the same server."""
    parts = urlsplit(base_url())
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(base_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL test server unreachable at {base_url()} ({exc}). Start it (e.g. "
            f"`pg_ctlcluster <version> main start`) or point {ENV} at one; the PostgreSQL "
            "tests never skip.", pytrace=False)


def template_name() -> str:
    """The template database of the current migrations (a new schema, a new template)."""
    digest = hashlib.sha256("".join(sql for _, _, sql in migrations()).encode()).hexdigest()
    return f"assay_bridge_tpl_{digest[:12]}"


_template_ready: set[str] = set()


def ensure_template() -> str:
    """Create and migrate the template database once; its name."""
    name = template_name()
    if name in _template_ready:
        return name
    with _admin() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if not exists:
                building = f"{name}_build_{uuid.uuid4().hex[:6]}"
                conn.execute(f'CREATE DATABASE "{building}"'.encode())
                store = PostgresStore(url_for(building), pool_size=1)
                store.open()
                store.close()
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"'.encode())
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
    _template_ready.add(name)
    return name


def create_database(prefix: str = "assay_bridge_t", *, template: str | None = None) -> str:
    """A new database cloned from ``template`` (default: the migrated template); its name.

    ``template="template0"`` gives an empty database.
    """
    template = template or ensure_template()
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with _admin() as conn:
        for attempt in range(20):
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'.encode())
                break
            except psycopg.errors.ObjectInUse:  # another clone is reading the template
                if attempt == 19:
                    raise
                time.sleep(0.05)  # no event to wait for: the other session just has to leave
    return name


def drop_database(name: str) -> None:
    """Drop a test database, ending any session still on it."""
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
