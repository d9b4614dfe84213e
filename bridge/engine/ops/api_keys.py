"""API keys (engine-api §4).

They keep assay's format (``assay_`` + 64 hex), its stored hash (hex SHA-256 of the whole key)
and its display prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from bridge.engine.op import Op

KEY_PREFIX = "assay_"


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
