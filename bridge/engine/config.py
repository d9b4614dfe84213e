"""Settings of ``assay-bridge serve``: the only place the engine server reads the environment.

Configuration flows one way: command-line flags and environment variables are folded into a
frozen :class:`ServerSettings` here, and everything below (server, app, engine core) receives
explicit keyword arguments.

Environment variables (a flag always wins over its variable):

==================================  ==========================================================
``DATABASE_URL``                    backend URL (assay's own name), e.g. ``sqlite:///x.db``
``ASSAY_WF_DISPATCH_TIMEOUT_SECS``  workflow-task lease, seconds (assay's own name; default 30)
``ASSAY_BRIDGE_HOST``               bind address (default ``127.0.0.1``)
``ASSAY_BRIDGE_PORT``               TCP port (default 8080; 0 picks a free one)
``ASSAY_BRIDGE_POLL_WAIT_SECS``     how long an idle workflow-task poll is held open (default 5)
``ASSAY_BRIDGE_AUTH_API_KEY``       ``1``/``true`` turns API-key auth on
``ASSAY_BRIDGE_AUTH_ISSUER``        OIDC issuer URL: turns JWT auth on
``ASSAY_BRIDGE_AUTH_AUDIENCE``      the audience JWTs must carry (default: not checked)
``ASSAY_BRIDGE_JWKS_REFETCH_SECS``  least time between two key-set refetches for unknown
                                    ``kid`` values (default 30)
``ASSAY_BRIDGE_METRICS_OPEN``       ``1``/``true`` serves ``/metrics`` without a token
``ASSAY_BRIDGE_DB_POOL_SIZE``       most PostgreSQL connections one instance opens (default 10)
==================================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bridge.errors import ConfigError

#: Backend used when neither ``--backend`` nor ``DATABASE_URL`` is given: a file in the cwd.
DEFAULT_BACKEND_URL = "sqlite:///assay-workflow.db"

#: The most an idle workflow-task poll may be held; the Lua client gives up after 30 s.
MAX_POLL_WAIT_S = 25.0

#: Request bodies larger than this get 413, like axum's default limit (engine-api §0).
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class ServerSettings:
    """Everything ``assay-bridge serve`` needs, already validated.

    Attributes:
        host: address to bind; loopback unless asked otherwise.
        port: TCP port; 0 lets the OS pick a free one.
        backend_url: engine store URL, ``sqlite:///path.db``, ``sqlite:///:memory:`` or
            ``postgresql://user:pass@host:5432/db`` (``postgres://`` too).
        auth_api_key: accept (and require) ``Authorization: Bearer <api key>`` on the API.
        auth_issuer: accept (and require) JWTs of this OIDC issuer on the API.
        auth_audience: with ``auth_issuer``, the audience tokens must carry.
        jwks_refetch_s: least time between two refetches of the issuer's keys for unknown
            ``kid`` values.
        metrics_open: serve ``/metrics`` without a token when auth is on.
        poll_wait_s: how long an idle workflow-task poll is held open; 0 answers at once.
        dispatch_timeout_s: the workflow-task lease (``ASSAY_WF_DISPATCH_TIMEOUT_SECS``).
        max_body_bytes: request bodies above this size get 413.
        engine_threads: how many threads may run engine calls at once.
        db_pool_size: the most pooled PostgreSQL connections (the listener has one more).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    backend_url: str = DEFAULT_BACKEND_URL
    auth_api_key: bool = False
    auth_issuer: str | None = None
    auth_audience: str | None = None
    jwks_refetch_s: float = 30.0
    metrics_open: bool = False
    poll_wait_s: float = 5.0
    dispatch_timeout_s: float = 30.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    engine_threads: int = 8
    db_pool_size: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, got {self.port}")
        if not 0 <= self.poll_wait_s <= MAX_POLL_WAIT_S:
            raise ConfigError(
                f"poll wait must be between 0 and {MAX_POLL_WAIT_S:g} seconds "
                f"(the Lua client times out at 30 s), got {self.poll_wait_s:g}"
            )
        if self.dispatch_timeout_s <= 0:
            raise ConfigError("ASSAY_WF_DISPATCH_TIMEOUT_SECS must be positive")
        if self.engine_threads < 1:
            raise ConfigError("engine_threads must be at least 1")
        if self.auth_audience is not None and self.auth_issuer is None:
            raise ConfigError("--auth-audience needs --auth-issuer")
        if self.auth_issuer is not None and "://" not in self.auth_issuer:
            raise ConfigError(f"--auth-issuer must be a URL, got {self.auth_issuer!r}")
        if self.jwks_refetch_s < 0:
            raise ConfigError("ASSAY_BRIDGE_JWKS_REFETCH_SECS must not be negative")
        if self.db_pool_size < 1:
            raise ConfigError("ASSAY_BRIDGE_DB_POOL_SIZE must be at least 1")
        object.__setattr__(self, "backend_url", normalize_backend_url(self.backend_url))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> ServerSettings:
        """Build settings from the environment, then apply ``overrides`` (flags) that are not None.

        Raises:
            ConfigError: a variable or override does not parse or is out of range.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("DATABASE_URL"):
            values["backend_url"] = env["DATABASE_URL"]
        if env.get("ASSAY_WF_DISPATCH_TIMEOUT_SECS"):
            values["dispatch_timeout_s"] = _float(env, "ASSAY_WF_DISPATCH_TIMEOUT_SECS")
        if env.get("ASSAY_BRIDGE_HOST"):
            values["host"] = env["ASSAY_BRIDGE_HOST"]
        if env.get("ASSAY_BRIDGE_PORT"):
            values["port"] = _int(env, "ASSAY_BRIDGE_PORT")
        if env.get("ASSAY_BRIDGE_POLL_WAIT_SECS"):
            values["poll_wait_s"] = _float(env, "ASSAY_BRIDGE_POLL_WAIT_SECS")
        if env.get("ASSAY_BRIDGE_DB_POOL_SIZE"):
            values["db_pool_size"] = _int(env, "ASSAY_BRIDGE_DB_POOL_SIZE")
        if "ASSAY_BRIDGE_AUTH_API_KEY" in env:
            values["auth_api_key"] = _bool(env, "ASSAY_BRIDGE_AUTH_API_KEY")
        if env.get("ASSAY_BRIDGE_AUTH_ISSUER"):
            values["auth_issuer"] = env["ASSAY_BRIDGE_AUTH_ISSUER"]
        if env.get("ASSAY_BRIDGE_AUTH_AUDIENCE"):
            values["auth_audience"] = env["ASSAY_BRIDGE_AUTH_AUDIENCE"]
        if env.get("ASSAY_BRIDGE_JWKS_REFETCH_SECS"):
            values["jwks_refetch_s"] = _float(env, "ASSAY_BRIDGE_JWKS_REFETCH_SECS")
        if "ASSAY_BRIDGE_METRICS_OPEN" in env:
            values["metrics_open"] = _bool(env, "ASSAY_BRIDGE_METRICS_OPEN")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def auth_mode(self) -> str:
        """``off``, ``api-key``, ``jwt`` or ``api-key+jwt``, for logs."""
        modes = [m for m, on in (("api-key", self.auth_api_key), ("jwt", self.auth_issuer))
                 if on]
        return "+".join(modes) or "off"

    def with_port(self, port: int) -> ServerSettings:
        """A copy with another port (used once the real port of ``--port 0`` is known)."""
        return replace(self, port=port)


def normalize_backend_url(url: str) -> str:
    """Return the canonical form of a backend URL.

    ``sqlite://:memory:`` (two slashes, as people type it) becomes ``sqlite:///:memory:``.

    Raises:
        ConfigError: the URL has no scheme.
    """
    url = url.strip()
    if "://" not in url:
        raise ConfigError(f"backend URL needs a scheme such as sqlite:///path.db, got {url!r}")
    if url in ("sqlite://:memory:", "sqlite://"):
        return "sqlite:///:memory:"
    return url


def describe_backend(url: str) -> str:
    """A loggable form of a backend URL, with any password replaced by ``***``."""
    scheme, _, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{scheme}://{user}:***@{hostpart}"
    return url


def _float(env: Mapping[str, str], name: str) -> float:
    try:
        return float(env[name])
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {env[name]!r}") from exc


def _int(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {env[name]!r}") from exc


def _bool(env: Mapping[str, str], name: str) -> bool:
    value = env[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {env[name]!r}")
