"""The engine core's tunables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Tunables of the engine core.

    Attributes:
        dispatch_timeout_s: the workflow-task lease (``ASSAY_WF_DISPATCH_TIMEOUT_SECS``).
        worker_dead_after_s: a worker silent this long is dead; its activities are retried.
            The unchanged Lua worker sends no heartbeat while it runs an activity, so this must
            outlast a long activity: the default matches the 300 s start-to-close default.
        batch_limit: how many due items of one kind a single ``run_due`` call handles.
    """

    dispatch_timeout_s: float = 30.0
    worker_dead_after_s: float = 300.0
    batch_limit: int = 500
