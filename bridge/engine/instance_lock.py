"""The SQLite single-instance lock, held for the life of one server (engine-api §2.5)."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING

from bridge.engine.store.base import CAP_INSTANCE_LOCK
from bridge.errors import BridgeError

if TYPE_CHECKING:
    from bridge.engine.core import Engine

logger = logging.getLogger(__name__)

#: The instance lock's heartbeat interval, and the age at which another engine takes it over.
LOCK_REFRESH_S = 15.0
LOCK_STALE_S = 60.0


class InstanceLockError(BridgeError):
    """Another live engine serves the same database (the SQLite single-instance lock)."""


class InstanceLock:
    """The store's single-instance lock, held for the life of one server (engine-api §2.5).

    Unlike assay it is released on shutdown, and a lock left by a dead process on this host, or
    one not refreshed for :data:`LOCK_STALE_S`, is taken over (compat-policy). Stores without
    the ``instance_lock`` capability skip it.
    """

    def __init__(self, engine: Engine) -> None:
        self._store = engine.store
        self.instance_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.enabled = CAP_INSTANCE_LOCK in self._store.capabilities
        self._refreshed_at = 0.0

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            InstanceLockError: a live engine holds it.
        """
        if not self.enabled:
            return
        now = time.time()
        if not self._store.acquire_instance_lock(
            self.instance_id, now=now, stale_after_s=LOCK_STALE_S, pid=os.getpid()
        ):
            raise InstanceLockError(
                "another assay-bridge engine is already running on this database"
            )
        self._refreshed_at = now

    def refresh_if_due(self) -> None:
        """Refresh the heartbeat every :data:`LOCK_REFRESH_S` (called by the runner).

        Raises:
            InstanceLockError: another instance took the lock over.
        """
        now = time.time()
        if not self.enabled or now - self._refreshed_at < LOCK_REFRESH_S:
            return
        if not self._store.refresh_instance_lock(self.instance_id, now=now):
            raise InstanceLockError("another engine took over this database's instance lock")
        self._refreshed_at = now
