"""The engine's stores: one ``Tx`` contract (``base.py``), one SQL implementation
(``sql_tx.py``) and its SQLite and PostgreSQL dialects."""

from __future__ import annotations

from bridge.engine.store.base import Store
from bridge.errors import ConfigError

__all__ = ["Store", "open_store"]


def open_store(backend_url: str, *, pool_size: int | None = None) -> Store:
    """Build (not open) the store named by ``backend_url``.

    ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:`` and assay's
    own ``sqlite://relative.db?mode=rwc`` give the SQLite store; ``postgres://`` and ``postgresql://`` URLs (libpq's form,
    ``postgresql://user:pass@host:5432/db?sslmode=require``) the PostgreSQL store, with at most
    ``pool_size`` pooled connections. Other schemes raise :class:`~bridge.errors.ConfigError`.
    """
    scheme, sep, rest = backend_url.partition("://")
    if not sep:
        raise ConfigError(f"backend URL needs a scheme such as sqlite:///path.db: {backend_url!r}")
    if scheme == "sqlite":
        from bridge.engine.store.sqlite import SQLiteStore

        path = rest[1:] if rest.startswith("/") else rest
        path = path.partition("?")[0]  # assay's sqlx options (?mode=rwc): the file is created
        return SQLiteStore(path or ":memory:")
    if scheme in ("postgres", "postgresql"):
        try:
            from bridge.engine.store.postgres import DEFAULT_POOL_SIZE, PostgresStore
        except ImportError as exc:
            raise ConfigError("the PostgreSQL backend needs psycopg 3: "
                              "pip install psycopg[binary,pool] (the postgres extra)") from exc

        return PostgresStore(backend_url, pool_size=pool_size or DEFAULT_POOL_SIZE)
    raise ConfigError(f"unsupported backend {scheme!r} (supported: sqlite, postgres)")
