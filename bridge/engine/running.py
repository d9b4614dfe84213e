"""The engine core running on a backend: what ``assay-bridge serve`` and :class:`bridge.Engine`
both start, whatever then answers the requests.

:class:`RunningCore` opens, in order:

1. the :class:`~bridge.engine.core.Engine` on the backend URL with the
   :class:`~bridge.engine.api.notify.Hub` as its notifier (and the given clock);
2. the store's single-instance lock (SQLite); with a store that several instances may share
   (PostgreSQL), the store's listener feeding other instances' wake-ups into the hub instead;
3. the :class:`~bridge.engine.runner.DueRunner` thread, poked by the hub's ``"deadline"``
   notices and reading the same clock as the core.

:meth:`RunningCore.close` stops them in the reverse order: the runner stops (its ``run_due`` in
progress finishes), then the engine closes its store, which releases the instance lock. The hub
is closed by whoever serves requests, before this, so held polls end first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.engine.config import ServerSettings, describe_backend
from bridge.engine.instance_lock import InstanceLock
from bridge.engine.notify import Notifier, NullNotifier
from bridge.engine.runner import DueRunner
from bridge.engine.store.base import CAP_SEVERAL_INSTANCES

if TYPE_CHECKING:
    from bridge.engine.api.notify import Hub
    from bridge.engine.clock import Clock
    from bridge.engine.core import Engine

logger = logging.getLogger(__name__)


def open_engine(settings: ServerSettings, hub: Notifier | None = None, *,
                clock: Clock | None = None) -> Engine:
    """Open the engine core on ``settings.backend_url`` with ``hub`` as its notifier (none:
    notices are dropped, as for administration such as minting an API key).

    Args:
        clock: the core's time source (default: the wall clock).

    Raises:
        ConfigError: the backend URL is not supported.
        StoreError: the database cannot be opened.
    """
    from bridge.engine.settings import Settings
    from bridge.engine.core import Engine

    return Engine.open(
        settings.backend_url,
        notifier=hub or NullNotifier(),
        settings=Settings(dispatch_timeout_s=settings.dispatch_timeout_s),
        clock=clock,
        pool_size=settings.db_pool_size,
    )


class RunningCore:
    """The engine core, its instance lock or store listener, and its due-work runner, running.

    Use :meth:`open`; :meth:`close` stops everything it started.

    Attributes:
        engine: the engine core.
        hub: its notifier.
        runner: the due-work runner thread.
    """

    def __init__(self, engine: Engine, hub: Hub, lock: InstanceLock, runner: DueRunner,
                 backend_url: str) -> None:
        self.engine = engine
        self.hub = hub
        self.runner = runner
        self._lock = lock
        self._backend_url = backend_url
        self._closed = False

    @classmethod
    def open(cls, settings: ServerSettings, hub: Hub, *, clock: Clock | None = None,
             on_failure: Callable[[BaseException], None] | None = None) -> RunningCore:
        """Open the core on ``settings.backend_url`` and start its runner.

        Args:
            settings: the backend URL, the workflow-task lease and the pool size are read.
            hub: the core's notifier; its ``"deadline"`` notices poke the runner.
            clock: the time source of the core and the runner (default: the wall clock).
            on_failure: called from the runner thread when ``run_due`` fails for good.

        Raises:
            ConfigError: the backend URL is not supported.
            StoreError: the store cannot be opened.
            InstanceLockError: another live engine serves this SQLite file.
        """
        engine = open_engine(settings, hub, clock=clock)
        try:
            lock = InstanceLock(engine)
            lock.acquire()
            if CAP_SEVERAL_INSTANCES in engine.store.capabilities:
                engine.store.listen(hub.notify_remote)

            def run_due() -> float | None:
                lock.refresh_if_due()
                return engine.run_due()

            runner = DueRunner(run_due, on_failure=on_failure, clock=engine.clock.now)
            hub.set_deadline_callback(runner.poke)
            runner.start()
        except BaseException:
            hub.set_deadline_callback(None)
            engine.close()
            raise
        return cls(engine, hub, lock, runner, settings.backend_url)

    def close(self) -> None:
        """Stop the runner, then close the store (releasing the instance lock). Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.hub.set_deadline_callback(None)
            self.runner.stop()
        finally:
            self.engine.close()
            logger.info("engine stopped; store %s closed", describe_backend(self._backend_url))
