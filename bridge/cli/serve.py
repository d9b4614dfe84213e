"""``assay-bridge serve``: run the workflow engine (assay v0.11.2's HTTP API on SQLite or
PostgreSQL).

Also ``assay-bridge serve create-api-key`` and ``assay-bridge serve list-api-keys``, which work on
the same backend without starting a server. Every flag names the environment variable it
overrides; :mod:`bridge.engine.config` is the only reader of those variables.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

from bridge.cli.output import when
from bridge.engine import DEFAULT_BACKEND_URL, MAX_POLL_WAIT_S, ServerSettings

if TYPE_CHECKING:
    from bridge.engine import Engine

LOG_LEVELS = ("debug", "info", "warning", "error")


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand (and its key-management subcommands) to ``subparsers``."""
    parser = subparsers.add_parser(
        "serve",
        help="run the workflow engine (assay's HTTP API) on SQLite or PostgreSQL",
        description=(
            "Run the workflow engine: assay v0.11.2's HTTP API under /api/v1, backed by SQLite "
            "(one instance) or PostgreSQL (any number of instances on one database). "
            "The unchanged assay Lua client (require('assay.workflow')) and the bridge's workers "
            "talk to it. Stop it with Ctrl+C or SIGTERM: in-flight requests finish and the "
            "store is closed cleanly."
        ),
    )
    _add_backend(parser)
    parser.add_argument(
        "--host",
        help="address to bind; use 0.0.0.0 to accept remote clients "
        "[env ASSAY_BRIDGE_HOST; default 127.0.0.1]",
    )
    parser.add_argument(
        "--port",
        type=int,
        help="TCP port; 0 picks a free one (see --port-file) [env ASSAY_BRIDGE_PORT; default 8080]",
    )
    parser.add_argument(
        "--port-file",
        metavar="PATH",
        help="once listening, write the bound port to PATH (for tools and tests using --port 0)",
    )
    parser.add_argument(
        "--poll-wait-secs",
        type=float,
        metavar="SECONDS",
        help="how long an idle workflow-task poll is held open waiting for work; 0 answers at "
        f"once like assay; at most {MAX_POLL_WAIT_S:g} [env ASSAY_BRIDGE_POLL_WAIT_SECS; default 5]",
    )
    parser.add_argument(
        "--dispatch-timeout-secs",
        type=float,
        metavar="SECONDS",
        help="workflow-task lease: a worker that holds a task longer loses it "
        "[env ASSAY_WF_DISPATCH_TIMEOUT_SECS; default 30]",
    )
    auth = parser.add_argument_group(
        "authentication",
        "With a mode on, /api/v1 and /metrics need 'Authorization: Bearer <token>'; health, "
        "version, openapi.json and docs stay open. With both modes, a token shaped like an API "
        "key (assay_ + 64 hex digits) is checked as one, any other as a JWT.")
    auth.add_argument(
        "--auth-api-key",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accept API keys; mint them with --generate-api-key or 'serve create-api-key' "
        "[env ASSAY_BRIDGE_AUTH_API_KEY; default off]",
    )
    auth.add_argument(
        "--auth-issuer",
        metavar="URL",
        help="accept JWTs of this OIDC issuer (its discovery document names the key set, "
        "kept 5 minutes) [env ASSAY_BRIDGE_AUTH_ISSUER]",
    )
    auth.add_argument(
        "--auth-audience",
        metavar="AUD",
        help="with --auth-issuer: the audience tokens must carry (default: not checked) "
        "[env ASSAY_BRIDGE_AUTH_AUDIENCE]",
    )
    auth.add_argument(
        "--no-auth",
        action="store_true",
        help="no authentication (the default; accepted for assay's deploy scripts)",
    )
    auth.add_argument(
        "--generate-api-key",
        action="store_true",
        help="mint an API key, print it on stdout, store its hash, and exit (as assay serve)",
    )
    auth.add_argument(
        "--list-api-keys",
        action="store_true",
        help="print the stored API keys' prefixes and labels, and exit (as assay serve)",
    )
    parser.add_argument(
        "--metrics-open",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve Prometheus metrics at /metrics without a token even when auth is on "
        "[env ASSAY_BRIDGE_METRICS_OPEN; default: /metrics needs a token when auth is on]",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        metavar="BYTES",
        help="request bodies larger than this get 413 [default 2097152, like assay]",
    )
    parser.add_argument(
        "--engine-threads",
        type=int,
        metavar="N",
        help="how many engine calls may run at once [default 8]",
    )
    parser.add_argument(
        "--db-pool-size",
        type=int,
        metavar="N",
        help="most PostgreSQL connections this instance opens, plus one for LISTEN "
        "[env ASSAY_BRIDGE_DB_POOL_SIZE; default 10]",
    )
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="log verbosity [default info]"
    )
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text",
        help="text lines, or one JSON object per line (with workflow_id, run_id and "
        "activity_id where known) [default text]",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every HTTP request (noisy with workers)"
    )
    parser.set_defaults(func=run_serve)

    keys = parser.add_subparsers(
        dest="serve_command", metavar="{create-api-key,list-api-keys}", required=False
    )
    create = keys.add_parser(
        "create-api-key",
        help="mint an API key and print it once (only its SHA-256 is stored)",
        description="Mint an API key in the backend's api_keys table and print it. The key "
        "is shown only now; the engine keeps only its SHA-256, as assay does.",
    )
    _add_backend(create, nested=True)
    create.add_argument("--label", help="a note stored with the key (who or what uses it)")
    create.set_defaults(func=run_create_api_key)
    listing = keys.add_parser(
        "list-api-keys",
        help="list API keys (prefix, label, creation time; never the key)",
    )
    _add_backend(listing, nested=True)
    listing.set_defaults(func=run_list_api_keys)


def _add_backend(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    # In a key subcommand the default is SUPPRESS, so `serve --backend X create-api-key` keeps X.
    parser.add_argument(
        "--backend",
        metavar="URL",
        default=argparse.SUPPRESS if nested else None,
        help="engine store: sqlite:///path/to/engine.db, sqlite:///:memory:, or "
        "postgresql://user:pass@host:5432/db (needs the postgres extra) "
        f"[env DATABASE_URL; default {DEFAULT_BACKEND_URL}]",
    )


def _configure_logging(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        from bridge.engine import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])
    if level != "debug":  # our own startup line names the URL; uvicorn's lifecycle chatter is debug
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Fold flags over the environment into :class:`ServerSettings`.

    Raises:
        ConfigError: a flag or variable is invalid.
    """
    return ServerSettings.from_env(
        backend_url=getattr(args, "backend", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        poll_wait_s=getattr(args, "poll_wait_secs", None),
        dispatch_timeout_s=getattr(args, "dispatch_timeout_secs", None),
        auth_api_key=getattr(args, "auth_api_key", None),
        auth_issuer=getattr(args, "auth_issuer", None),
        auth_audience=getattr(args, "auth_audience", None),
        metrics_open=getattr(args, "metrics_open", None),
        max_body_bytes=getattr(args, "max_body_bytes", None),
        engine_threads=getattr(args, "engine_threads", None),
        db_pool_size=getattr(args, "db_pool_size", None),
    )


def run_serve(args: argparse.Namespace) -> int:
    """Run the engine until SIGINT/SIGTERM; 0 on a clean stop. ``--generate-api-key`` and
    ``--list-api-keys`` do their job and exit instead, as ``assay serve`` does."""
    if args.generate_api_key:
        return _generate_api_key(args)
    if args.list_api_keys:
        return _list_api_keys_as_assay(args)
    settings = settings_from_args(args)
    _configure_logging(args.log_level, args.log_format)
    if args.no_auth and settings.auth_mode != "off":
        print("Warning: --no-auth is redundant when --auth-issuer or --auth-api-key is set",
              file=sys.stderr)
    from bridge.engine import EngineService, InstanceLockError  # loaded only here
    from bridge.errors import StoreError, StoreUnavailableError

    service = EngineService(settings, port_file=args.port_file, access_log=args.access_log)
    try:
        return service.run()
    except (InstanceLockError, StoreError, StoreUnavailableError) as exc:
        logging.getLogger("bridge.engine.server").error("cannot serve: %s", exc)
        return 1


def _open_engine(args: argparse.Namespace) -> Engine:
    from bridge.engine import open_engine

    return open_engine(ServerSettings.from_env(backend_url=getattr(args, "backend", None)))


def _generate_api_key(args: argparse.Namespace) -> int:
    """``serve --generate-api-key``: assay's stdout (the key alone) and stderr note."""
    engine = _open_engine(args)
    try:
        key = engine.create_api_key()
    finally:
        engine.close()
    print(key)
    prefix = key[: len("assay_") + 8] + "..."
    print(f"API key created (prefix: {prefix}). Store it securely \u2014 it cannot be "
          "recovered.", file=sys.stderr)
    return 0


def _list_api_keys_as_assay(args: argparse.Namespace) -> int:
    """``serve --list-api-keys``: assay's lines (``  <prefix> <label>``)."""
    engine = _open_engine(args)
    try:
        keys = engine.list_api_keys()
    finally:
        engine.close()
    if not keys:
        print("No API keys configured.")
    for row in keys:
        print(f"  {row['prefix']} {row.get('label') or ''}")
    return 0


def run_create_api_key(args: argparse.Namespace) -> int:
    """Mint an API key, print it on stdout; 0 on success."""
    engine = _open_engine(args)
    try:
        key = engine.create_api_key(label=args.label)
    finally:
        engine.close()
    print(key)
    print("store this key now: it cannot be shown again", file=sys.stderr)
    return 0


def run_list_api_keys(args: argparse.Namespace) -> int:
    """Print one line per API key: prefix, creation time (readable, UTC), label."""
    engine = _open_engine(args)
    try:
        keys = engine.list_api_keys()
    finally:
        engine.close()
    for row in keys:
        print(f"{row['prefix']}\t{when(row['created_at'])}\t{row.get('label') or ''}")
    return 0
