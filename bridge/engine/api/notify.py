"""The engine's Notifier, turned into asyncio wake-ups for long-polls and SSE.

The core calls :meth:`Hub.notify` after each commit, from whatever thread ran the operation.
The hub hops onto the server's event loop with ``loop.call_soon_threadsafe`` and there wakes the
:class:`Subscription` of every waiter subscribed to a matching key, and feeds every SSE
subscriber. ``"deadline"`` notices skip the loop and go straight to the background runner
(:mod:`bridge.engine.server`), which lives in its own thread.

Keys a waiter can subscribe to:

* ``("workflow_task", queue)``: a workflow task may be claimable on ``queue``;
* ``("activity_task", queue)``: an activity task may be claimable on ``queue``;
* ``("workflow_terminal", workflow_id)``: the workflow reached a terminal status; the waiter
  keeps the notice's record (``.record``) to answer with.

A waiter subscribes *before* it asks the core, so a notice that lands between the question and
the wait is never lost.

With several engine instances on one database, :meth:`Hub.notify_remote` receives the wake-ups
other instances published (the store's ``listen``, fed from its own thread); ``"resync"``
(notices may have been lost) wakes every waiter so each asks the core again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from bridge.engine.cpu_handoff import CpuHandoff
from bridge.wire import SHARED_NOTICE_KINDS, NoticeKind

if TYPE_CHECKING:
    from bridge.engine.turn import Turn

logger = logging.getLogger(__name__)

Key = tuple[str, str]

#: How many events an SSE subscriber may fall behind before old ones are dropped.
SSE_QUEUE_SIZE = 1000


class Subscription:
    """One waiter's wake-up; set when any of its keys is notified or the hub closes."""

    def __init__(self, keys: tuple[Key, ...]) -> None:
        self.keys = keys
        #: The terminal record the last ``workflow_terminal`` wake-up carried, if any.
        self.record: dict[str, Any] | None = None
        self._woken = False
        self._waiter: asyncio.Future[None] | None = None

    def wake(self, record: dict[str, Any] | None = None) -> None:
        """Mark the subscription woken and end a :meth:`wait` in progress (loop thread)."""
        if record is not None:
            self.record = record
        self._woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a wake-up; True if woken. Clears it.

        A future and a timer of the loop, not ``asyncio.wait_for`` (which starts a task).
        """
        if not self._woken and timeout_s > 0:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(timeout_s, _expire, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        woken = self._woken
        self._woken = False
        return woken


class ThreadSubscription:
    """A waiter of a thread other than the loop's (the embedded engine's direct path), and
    the context manager that keeps it registered with its hub for a ``with`` block.

    Its wake-up is a lock held from the start and released by :meth:`wake`: waiting is one
    ``acquire`` in C, where a ``threading.Event`` would run a ``Condition`` in Python. Every
    wake-up happens under the hub's thread lock, which also guards ``_woken``, ``_blocked``
    and ``_restore``."""

    __slots__ = ("keys", "record", "_hub", "_woken", "_gate", "_thread", "_blocked", "_restore")

    def __init__(self, hub: Hub, keys: tuple[Key, ...]) -> None:
        self.keys = keys
        #: The terminal record the last ``workflow_terminal`` wake-up carried, if any.
        self.record: dict[str, Any] | None = None
        self._hub = hub
        self._woken = False
        self._gate = threading.Lock()
        self._gate.acquire()
        self._thread = threading.get_native_id()
        self._blocked = False  # in wait()'s acquire, or about to be
        self._restore: frozenset[int] | None = None  # the mask a CPU hand-off narrowed

    def wake(self, record: dict[str, Any] | None = None,
             handoff: CpuHandoff | None = None) -> None:
        """Mark the subscription woken (any thread, holding the hub's thread lock); with
        ``handoff``, a waiter blocked in :meth:`wait` starts on the calling thread's CPU."""
        if self.hold(record):
            self._release(handoff)

    def hold(self, record: dict[str, Any] | None) -> bool:
        """Mark the subscription woken without waking its thread yet (holding the hub's
        thread lock); True if it was not woken already: :meth:`_release` is then owed."""
        if record is not None:
            self.record = record
        if self._woken:
            return False
        self._woken = True
        return True

    def _release(self, handoff: CpuHandoff | None) -> None:
        if handoff is not None and self._blocked:
            self._restore = handoff.place(self._thread)
        self._gate.release()

    def wait(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` for a wake-up; True if woken. Clears it."""
        if timeout_s <= 0:
            woken = self._gate.acquire(blocking=False)
            if woken:
                with self._hub._thread_lock:
                    self._woken = False
            return woken
        hub = self._hub
        hub.release_held()  # this thread waits now: what its last call held goes
        turn = hub.turn
        if turn is not None:
            turn.block()
        woken = False
        self._blocked = True
        try:
            woken = self._gate.acquire(timeout=timeout_s)
        finally:
            with hub._thread_lock:
                self._blocked = False
                if woken:
                    self._woken = False
                restore, self._restore = self._restore, None
            if restore is not None:
                CpuHandoff.restore(restore)
            if turn is not None:
                turn.enter()
        return woken

    def __enter__(self) -> ThreadSubscription:
        self._hub._add_thread_waiter(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._hub._drop_thread_waiter(self)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Hub:
    """Implements the core's Notifier protocol for an asyncio server.

    Args:
        on_deadline: called (in the notifying thread) with the epoch time of a new deadline.
        turn: the turn of the embedded engine's in-process callers, given up while one of
            them waits here (:meth:`subscribe_here`).
        cpu_handoff: with ``turn``, a waiter blocked here that the turn's holder wakes
            starts on the holder's CPU (:mod:`bridge.engine.cpu_handoff`).
    """

    def __init__(self, on_deadline: Callable[[float], None] | None = None, *,
                 turn: Turn | None = None, cpu_handoff: CpuHandoff | None = None) -> None:
        self.turn = turn
        self._cpu_handoff = cpu_handoff if turn is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[Key, set[Subscription]] = {}
        self._thread_waiters: dict[Key, set[ThreadSubscription]] = {}
        self._thread_lock = threading.Lock()  # guards _thread_waiters
        self._streams: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._on_deadline = on_deadline
        # queue -> workflow-task notices not yet matched by a claim: a hint, never a rule
        self._announced: dict[str, int] = {}
        # queues with an activity-task notice since a poll last took the hint
        self._activity_hint: set[str] = set()
        self.closing = False
        # the thread whose engine call now holds back the wake-ups it causes, and the
        # waiters woken but not released yet (hold_wakeups)
        self._holder: int | None = None
        self._held: list[ThreadSubscription] = []

    def set_deadline_callback(self, on_deadline: Callable[[float], None] | None) -> None:
        """Route ``"deadline"`` notices to ``on_deadline`` (the background runner)."""
        self._on_deadline = on_deadline

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the server's running loop; notices before this are dropped."""
        self._loop = loop
        self.closing = False

    # -- Notifier protocol (any thread) -------------------------------------------------

    def notify(self, kind: NoticeKind, data: dict[str, Any]) -> None:
        """Deliver one notice from the core. Safe to call from any thread; never raises.

        A notice nobody waits for is dropped here, without waking the loop: a waiter
        subscribes before it asks the core, so one that subscribes after this check asks
        after the commit that sent the notice and sees its effect.
        """
        if kind == "deadline":
            callback = self._on_deadline
            at = data.get("at")
            if callback is not None and isinstance(at, (int, float)):
                callback(float(at))
            return
        if kind == "workflow_task":
            queue = str(data.get("queue"))
            self._announced[queue] = self._announced.get(queue, 0) + 1
        elif kind == "activity_task":
            self._activity_hint.add(str(data.get("queue")))
        key = None if kind == "event" else _key(kind, data)
        if key is not None and self._thread_waiters.get(key):
            self._wake_threads(key, data.get("record"))
        loop = self._loop
        if loop is None or self.closing:
            return
        if kind == "event":
            if not self._streams:
                return
        elif key is None or not self._waiters.get(key):
            return
        try:
            loop.call_soon_threadsafe(self._deliver, kind, data)
        except RuntimeError:  # the loop has closed: the server is stopping
            pass

    def expects_workflow_task(self, queue: str) -> bool:
        """Whether a workflow-task notice on ``queue`` came since the last claim or empty
        turn there: a hint for a poll whether to claim at once or read first. Races only
        make it wrong, never unsafe: the claim decides."""
        return self._announced.get(queue, 0) > 0

    def take_activity_hint(self, queue: str) -> bool:
        """Whether an activity-task notice on ``queue`` came since the last call that
        returned True for it (once per run of notices): a hint that a workflow-task poll
        may answer ``null`` at once, sending its worker to the activity first. Only the first
        poll after the notices takes it, so a later one reads the store as before."""
        try:
            self._activity_hint.remove(queue)
        except KeyError:
            return False
        return True

    def claimed_workflow_task(self, queue: str, found: bool) -> None:
        """Note a poll turn's outcome on ``queue``: one notice matched, or none left."""
        if found:
            left = self._announced.get(queue, 0) - 1
            if left > 0:
                self._announced[queue] = left
                return
        self._announced.pop(queue, None)

    # -- wake-ups held back by a caller that calls again at once -------------------------

    def hold_wakeups(self) -> None:
        """Hold back the wake-ups of thread waiters that the calling thread causes, until
        :meth:`stop_holding`; they stay owed until :meth:`release_held`."""
        self._holder = threading.get_ident()

    def stop_holding(self) -> None:
        """End :meth:`hold_wakeups` (what was held stays held)."""
        self._holder = None

    @property
    def holds_wakeups(self) -> bool:
        """Whether wake-ups are held back now, owed to their waiters."""
        return bool(self._held)

    def release_held(self) -> None:
        """Wake every waiter whose wake-up was held back (any thread; nothing to do when none
        was). Done by the turn's holder, they start on its CPU."""
        if not self._held:
            return
        handoff = self._handoff_here()
        with self._thread_lock:
            held, self._held = self._held, []
            for sub in held:
                sub._release(handoff)

    def notify_remote(self, kind: str, data: dict[str, Any]) -> None:
        """Deliver a notice another engine instance published (any thread; never raises)."""
        if kind == "resync":
            self._wake_threads(None)
            loop = self._loop
            if loop is None or self.closing:
                return
            try:
                loop.call_soon_threadsafe(self._wake_all)
            except RuntimeError:  # the loop has closed: the server is stopping
                pass
            return
        for shared in SHARED_NOTICE_KINDS:
            if kind == shared:
                self.notify(shared, data)

    # -- loop side ----------------------------------------------------------------------

    def _wake_all(self) -> None:
        for subs in self._waiters.values():
            for sub in subs:
                sub.wake()

    def _deliver(self, kind: NoticeKind, data: dict[str, Any]) -> None:
        if kind == "event":
            self._publish(data)
            return
        key = _key(kind, data)
        if key is not None:
            self._wake(key, data.get("record"))

    def _wake(self, key: Key, record: dict[str, Any] | None) -> None:
        for sub in self._waiters.get(key, ()):
            sub.wake(record)

    def _wake_threads(self, key: Key | None, record: dict[str, Any] | None = None) -> None:
        """Wake the thread waiters of ``key`` (None: all of them), handing each the
        terminal record the notice carried, if any; any thread. Woken by the turn's holder
        (a client or worker calling in-process), a waiter starts on the holder's CPU."""
        if key is not None and self._holder == threading.get_ident():
            with self._thread_lock:
                for sub in self._thread_waiters.get(key, ()):
                    if sub.hold(record):
                        self._held.append(sub)
            return
        handoff = self._handoff_here()
        with self._thread_lock:
            groups = self._thread_waiters.values() if key is None else \
                [self._thread_waiters.get(key, set())]
            for subs in groups:
                for sub in subs:
                    sub.wake(record, handoff)

    def _handoff_here(self) -> CpuHandoff | None:
        """The CPU hand-off for waiters the calling thread wakes: only the turn's holder,
        which is about to wait in turn, hands its CPU over."""
        turn = self.turn
        if self._cpu_handoff is None or turn is None or not turn.held_here():
            return None
        return self._cpu_handoff

    def _publish(self, data: dict[str, Any]) -> None:
        for queue in self._streams:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()  # a slow reader loses the oldest event, not the server
            queue.put_nowait(data)

    def waiting_count(self) -> int:
        """How many workflow-task polls are held open now (any thread)."""
        with self._thread_lock:
            held = sum(len(subs) for key, subs in self._thread_waiters.items()
                       if key[0] == "workflow_task")
        for _ in range(3):
            try:
                return held + sum(len(subs) for key, subs in list(self._waiters.items())
                                  if key[0] == "workflow_task")
            except RuntimeError:  # changed on the loop thread while counted: count again
                continue
        return held

    def waiting(self, key: Key) -> int:
        """How many waiters (held polls, ``/wait`` calls) are subscribed to ``key`` now."""
        return len(self._waiters.get(key, ())) + len(self._thread_waiters.get(key, ()))

    @contextlib.contextmanager
    def subscribe(self, *keys: Key) -> Iterator[Subscription]:
        """Register a waiter for ``keys`` for the duration of the ``with`` block (loop thread)."""
        sub = Subscription(keys)
        if self.closing:
            sub.wake()
        for key in keys:
            self._waiters.setdefault(key, set()).add(sub)
        try:
            yield sub
        finally:
            for key in keys:
                subs = self._waiters.get(key)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._waiters[key]

    def subscribe_here(self, *keys: Key) -> ThreadSubscription:
        """A waiter of the calling thread for ``keys``, registered for the duration of a
        ``with`` block (any thread but the loop's, which must not block)."""
        return ThreadSubscription(self, keys)

    def _add_thread_waiter(self, sub: ThreadSubscription) -> None:
        with self._thread_lock:
            if self.closing:
                sub.wake()
            for key in sub.keys:
                self._thread_waiters.setdefault(key, set()).add(sub)

    def _drop_thread_waiter(self, sub: ThreadSubscription) -> None:
        with self._thread_lock:
            for key in sub.keys:
                subs = self._thread_waiters.get(key)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._thread_waiters[key]

    @contextlib.contextmanager
    def stream(self) -> Iterator[asyncio.Queue[dict[str, Any] | None]]:
        """Register an SSE reader; yields a queue of event dicts, ``None`` meaning "closing"."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SSE_QUEUE_SIZE)
        if self.closing:
            queue.put_nowait(None)
        self._streams.add(queue)
        try:
            yield queue
        finally:
            self._streams.discard(queue)

    def close_threads(self) -> None:
        """Mark the hub closing and wake every thread waiter now (any thread), so held calls
        in callers' threads answer without waiting for :meth:`close` on the loop."""
        self.closing = True
        self.release_held()
        self._wake_threads(None)

    def close(self) -> None:
        """Wake every waiter and end every stream (loop thread); used when the server stops."""
        self.closing = True
        self.release_held()
        self._wake_threads(None)
        for subs in self._waiters.values():
            for sub in subs:
                sub.wake()
        for queue in self._streams:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(None)


#: The data field naming what a wake-up notice is about, by notice kind.
_KEY_FIELDS = {"workflow_task": "queue", "activity_task": "queue",
               "workflow_terminal": "workflow_id"}


def _key(kind: str, data: dict[str, Any]) -> Key | None:
    """The waiters' key a wake-up notice is for, or None for other kinds."""
    field = _KEY_FIELDS.get(kind)
    return None if field is None else (kind, str(data.get(field)))
