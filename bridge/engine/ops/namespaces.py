"""Namespaces (engine-api §1.7).

compat-policy: a duplicate namespace is 409 (assay: 500).
"""

from __future__ import annotations

from typing import Any

from bridge.engine.op import Op
from bridge.errors import ConflictError, NotFoundError
from bridge.wire import DEFAULT_NAMESPACE


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
