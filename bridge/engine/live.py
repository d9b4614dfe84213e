"""The workflows this engine knows to be running, so a ``/wait`` need not read one first.

A ``/wait`` subscribes to the workflow's terminal notice, then reads the workflow, and blocks
only if it is still running. For a workflow this engine started itself and has not finished,
the read tells nothing new: :class:`LiveWorkflows` lets the wait block at once. In the
embedded engine that read was also the one moment a client's thread let go of the GIL
between starting a workflow and waiting for it, and the worker just woken for that workflow
took the GIL there, only to wait for the client again.

Why the skip is safe (a subscription that comes first, and updates made inside transactions):

* a workflow is added inside the transaction that creates it (after the insert) and dropped
  again if that transaction does not commit (:meth:`LiveWorkflows.forget`);
* it is dropped inside every transaction that finishes it, before that commits. A wait that
  still finds it here subscribed before the drop, so the terminal notice, sent after the
  commit, reaches it; a wait that no longer finds it reads, as before.

A rolled-back finish leaves a running workflow out of the set, which only costs that read.
Workflow ids are never reused. Only an engine that is the only one on its store keeps the
set: another instance's transactions would not pass through it.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Workflows kept at most; beyond it, new ones are not added (a wait on them reads first).
MAX_LIVE = 65536


class LiveWorkflows:
    """Ids of workflows known to be running (see the module docstring).

    Each method is one operation on a ``set``, atomic under the GIL, so no lock is taken.

    Args:
        max_live: ids kept at most.
    """

    __slots__ = ("max_live", "_ids")

    def __init__(self, max_live: int = MAX_LIVE) -> None:
        self.max_live = max_live
        self._ids: set[str] = set()

    def started(self, workflow_id: str) -> bool:
        """Note a workflow its creating transaction has inserted; False if the set is full
        (then nothing is noted)."""
        if len(self._ids) >= self.max_live:
            return False
        self._ids.add(workflow_id)
        return True

    def finished(self, workflow_id: str) -> None:
        """Drop a workflow its transaction is moving to a terminal status."""
        self._ids.discard(workflow_id)

    def forget(self, workflow_ids: Iterable[str]) -> None:
        """Drop workflows whose creating transaction did not commit."""
        for workflow_id in workflow_ids:
            self._ids.discard(workflow_id)

    def __contains__(self, workflow_id: object) -> bool:
        return workflow_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)
