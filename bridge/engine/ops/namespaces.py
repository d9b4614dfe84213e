"""Namespaces (engine-api §1.7) and API keys (engine-api §4).

compat-policy: a duplicate namespace is 409 (assay: 500). API keys keep assay's format
(``assay_`` + 64 hex), its stored hash (hex SHA-256 of the whole key) and display prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from bridge.engine.context import Op
from bridge.errors import ConflictError, NotFoundError
from bridge.wire import DEFAULT_NAMESPACE

KEY_PREFIX = "assay_"


def create_namespace(op: Op, name: str) -> None:
    """Create a namespace; 409 if it exists."""
    if not op.tx.insert_namespace(name, op.now):
        raise ConflictError(f"namespace {name} already exists")


def list_namespaces(op: Op) -> list[dict[str, Any]]:
    """``[{name, created_at}]`` by name."""
    return [{"name": r["name"], "created_at": float(r["created_at"])}
            for r in op.tx.list_namespaces()]


def namespace_stats(op: Op, name: str) -> dict[str, Any]:
    """NamespaceStats; zeros for an unknown namespace (as in assay)."""
    stats = op.tx.namespace_stats(name)
    return {"namespace": name, **{k: int(stats[k]) for k in (
        "total_workflows", "running", "pending", "completed", "failed", "schedules", "workers")}}


def delete_namespace(op: Op, name: str) -> None:
    """Delete the namespace row only; 404 for ``main`` and for an unknown name (as in assay)."""
    if name == DEFAULT_NAMESPACE:
        raise NotFoundError("not found: cannot delete the 'main' namespace")
    if not op.tx.delete_namespace(name):
        raise NotFoundError(f"not found: namespace {name}")


def hash_key(key: str) -> str:
    """Lower-case hex SHA-256 of the whole key string."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def display_prefix(key: str) -> str:
    """``assay_`` + the first 8 characters after it + ``...``."""
    return KEY_PREFIX + key[len(KEY_PREFIX):len(KEY_PREFIX) + 8] + "..."


def create_api_key(op: Op, label: str | None = None) -> str:
    """Generate, store (hashed) and return a new API key."""
    key = KEY_PREFIX + secrets.token_hex(32)
    op.tx.insert_api_key(hash_key(key), display_prefix(key), label, op.now)
    return key


def list_api_keys(op: Op) -> list[dict[str, Any]]:
    """``[{prefix, label, created_at}]`` oldest first; the keys themselves are not stored."""
    return [dict(r) for r in op.tx.list_api_keys()]


def verify_api_key(op: Op, key: str) -> bool:
    """True if ``key`` is a stored API key (constant-time comparison of hashes)."""
    if not key.startswith(KEY_PREFIX):
        return False
    digest = hash_key(key)
    return any(hmac.compare_digest(digest, h) for h in op.tx.api_key_hashes(display_prefix(key)))
