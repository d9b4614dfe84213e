"""assay's async model on one Lua state: tasks, timers and I/O off the Lua thread.

A *task* (``async.spawn``) is a Lua coroutine that this scheduler resumes. An async builtin
(``sleep``, ``http.*``, a handle's ``await``) is split in two Python halves around a wait:
``begin(args) -> Pending`` runs on the Lua thread and reads the arguments; the
:class:`Pending` then completes (a timer, a function run on an I/O thread, another task
finishing) with an :class:`Outcome`; ``finish(outcome)`` runs on the Lua thread again and
builds the Lua result. Called directly in a task's own coroutine, the builtin yields the
pending to the scheduler from Lua, so only that task waits. Anywhere else (the main chunk,
an activity, a user coroutine such as a workflow body) the caller blocks; while it blocks,
the scheduler runs the tasks that are ready, so a spawned task makes progress whenever
its creator waits (assay: tasks run when the caller next yields). With no task alive the
blocking path is the plain call, with no thread involved.

Every resume goes through the boundary's current view (:mod:`bridge.runtime.boundary`), so
tasks may be driven from a call made on any Lua thread.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.runtime.boundary import Anchor, Boundary, LuaCallError, strip

if TYPE_CHECKING:
    # imported with the first I/O thread: concurrent.futures imports logging
    from concurrent.futures import Future, ThreadPoolExecutor

IO_THREADS = 8

#: The scheduler's Lua half; the host runs it once and hands its table to :class:`Scheduler`.
SCHEDULER_LUA = r"""
local pack, unpack = table.pack, table.unpack
local create, resume, status, yield, running = coroutine.create, coroutine.resume, coroutine.status, coroutine.yield, coroutine.running
local PENDING = {}
local tasks, results = {}, {}
local by_co = setmetatable({}, { __mode = "k" })
local S = {}

function S.spawn(id, fn)
    local co = create(fn)
    tasks[id] = co
    by_co[co] = id
end

-- resume task id with the scheduler's value; say what it did
function S.step(id, value)
    local co = tasks[id]
    if co == nil then return "gone", nil end
    local r = pack(resume(co, value))
    if not r[1] then
        tasks[id] = nil
        results[id] = { ok = false, err = r[2] }
        return "done", nil
    end
    if status(co) == "dead" then
        tasks[id] = nil
        results[id] = { ok = true, values = { unpack(r, 2, r.n) } }
        return "done", nil
    end
    if r[2] == PENDING then return "wait", r[3] end
    return "yield", nil
end

function S.take(id)
    local res = results[id]
    results[id] = nil
    return res
end

function S.drop(id)
    local co = tasks[id]
    tasks[id], results[id] = nil, nil
    if co ~= nil and status(co) == "suspended" then coroutine.close(co) end
end

function S.drop_all()
    for id in pairs(tasks) do S.drop(id) end
    results = {}
end

-- an async builtin: yields to the scheduler inside a task, blocks anywhere else
function S.async(sync, begin, finish)
    return function(...)
        if by_co[running()] then
            return finish(yield(PENDING, begin(...)))
        end
        return sync(...)
    end
end
return S
"""


class Outcome:
    """How a wait ended: a value, or an error to raise on the Lua thread (never changed)."""

    __slots__ = ("value", "error")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error

    def __repr__(self) -> str:
        return f"Outcome(value={self.value!r}, error={self.error!r})"

    def unwrap(self) -> Any:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value


class Pending:
    """Something a caller waits for. Subclasses say how it completes."""

    def start(self, scheduler: Scheduler, waiter: int) -> None:
        """Arrange for ``scheduler.complete(waiter, outcome)`` to be called later."""
        raise NotImplementedError

    def run_inline(self) -> Outcome:
        """Wait for it on the calling thread (no task is alive)."""
        raise NotImplementedError


class Sleep(Pending):
    """A timer. ``stop`` (when given) ends it early: a worker's idle pause."""

    def __init__(self, seconds: float, stop: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.stop = stop

    def start(self, scheduler: Scheduler, waiter: int) -> None:
        scheduler.add_timer(time.monotonic() + self.seconds, waiter, self.stop)

    def run_inline(self) -> Outcome:
        if self.stop is not None:
            self.stop.wait(self.seconds)
        else:
            time.sleep(self.seconds)
        return Outcome()


class Blocking(Pending):
    """A blocking function (I/O) with no Lua in it, run on an I/O thread."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn

    def start(self, scheduler: Scheduler, waiter: int) -> None:
        scheduler.submit(self.fn, waiter)

    def run_inline(self) -> Outcome:
        return _outcome_of(self.fn)


class Done(Pending):
    """Already complete (work that had to run on the Lua thread)."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome

    def start(self, scheduler: Scheduler, waiter: int) -> None:
        scheduler.complete(waiter, self.outcome)

    def run_inline(self) -> Outcome:
        return self.outcome


class TaskDone(Pending):
    """Another task finishing."""

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id

    def start(self, scheduler: Scheduler, waiter: int) -> None:
        scheduler.when_done(self.task_id, waiter)

    def run_inline(self) -> Outcome:  # no task is alive: this one has ended already
        return Outcome(self.task_id)


def _outcome_of(fn: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(fn())
    except BaseException as exc:  # noqa: BLE001 - handed to the Lua thread as the outcome
        return Outcome(error=strip(exc))


class Scheduler:
    """The task scheduler of one Lua state (see the module docstring)."""

    def __init__(self, boundary: Boundary, module: Any) -> None:
        self._boundary = boundary
        anchor = boundary.anchor
        self._spawn = anchor(module[b"spawn"])
        self._step = anchor(module[b"step"])
        self._take = anchor(module[b"take"])
        self._drop = anchor(module[b"drop"])
        self._drop_all = anchor(module[b"drop_all"])
        self._async = anchor(module[b"async"])
        self._ids = itertools.count(1)
        self._tokens = itertools.count(-1, -1)
        self._alive: set[int] = set()
        self._done: set[int] = set()
        self._ready: deque[tuple[int, Outcome]] = deque()
        self._timers: list[tuple[float, int, int, threading.Event | None]] = []
        self._seq = itertools.count()
        self._awaiters: dict[int, list[int]] = {}
        self._finished: dict[int, Outcome] = {}  # blocking callers' outcomes by token
        self._completions: queue.SimpleQueue[tuple[int, Outcome]] = queue.SimpleQueue()
        self._in_flight = 0
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    # -- the builtins' side -----------------------------------------------------------------
    def async_function(
        self,
        name: str,
        begin: Callable[..., Pending],
        finish: Callable[[Outcome], Any],
    ) -> Any:
        """A Lua function for an async builtin made of ``begin`` and ``finish``."""
        export = self._boundary.export

        def sync(*args: Any) -> Any:
            return finish(self.wait(begin(*args)))

        return self._async(export(sync, name), export(begin, name), export(finish, name))

    def spawn(self, fn: Any) -> int:
        """Make the Lua function ``fn`` a task (it runs when its creator next waits)."""
        if self._closed:
            raise LuaCallError("async.spawn: the script has ended")
        task_id = next(self._ids)
        self._spawn(task_id, fn)
        self._alive.add(task_id)
        self._ready.append((task_id, Outcome()))
        return task_id

    def take_result(self, task_id: int) -> Any:
        """The finished task's Lua record ``{ok, values | err}`` (once)."""
        self._done.discard(task_id)
        return self._take(task_id)

    def is_done(self, task_id: int) -> bool:
        """Whether the task has finished (and its result is not yet taken)."""
        return task_id in self._done

    def cancel(self, task_id: int) -> None:
        """Forget a task: its timers and queued resumes are dropped, it never runs again."""
        if task_id in self._alive:
            self._alive.discard(task_id)
            self._ready = deque((w, o) for w, o in self._ready if w != task_id)
            self._timers = [t for t in self._timers if t[2] != task_id]
            heapq.heapify(self._timers)
            self._drop(task_id)

    def wait(self, pending: Pending) -> Outcome:
        """Block the caller until ``pending`` completes, running ready tasks meanwhile."""
        if not self._alive:
            return pending.run_inline()
        token = next(self._tokens)
        pending.start(self, token)
        self._run_until(token)
        return self._finished.pop(token)

    # -- what pendings call -----------------------------------------------------------------
    def add_timer(self, deadline: float, waiter: int, stop: threading.Event | None) -> None:
        """Complete ``waiter`` at ``deadline`` (earlier if ``stop`` is set)."""
        heapq.heappush(self._timers, (deadline, next(self._seq), waiter, stop))

    def submit(self, fn: Callable[[], Any], waiter: int) -> None:
        """Run ``fn`` on an I/O thread; complete ``waiter`` with its outcome."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="assay-io")
        completions = self._completions

        def done(future: Future[Outcome]) -> None:
            completions.put((waiter, future.result()))

        self._in_flight += 1
        self._pool.submit(_outcome_of, fn).add_done_callback(done)

    def complete(self, waiter: int, outcome: Outcome) -> None:
        """Complete ``waiter`` at the scheduler's next turn."""
        self._ready.append((waiter, outcome))

    def when_done(self, task_id: int, waiter: int) -> None:
        """Complete ``waiter`` once the task has finished."""
        if task_id in self._done or task_id not in self._alive:
            self._ready.append((waiter, Outcome(task_id)))
        else:
            self._awaiters.setdefault(task_id, []).append(waiter)

    # -- the loop ---------------------------------------------------------------------------
    def _run_until(self, token: int) -> None:
        while token not in self._finished:
            self._collect(block=False)
            if self._ready:
                waiter, outcome = self._ready.popleft()
                self._deliver(waiter, outcome)
                continue
            if not self._timers and not self._in_flight:
                raise LuaCallError("async: deadlock: nothing left to run while waiting")
            self._collect(block=True)

    def _collect(self, *, block: bool) -> None:
        """Move due timers and finished I/O to the ready queue (waiting for one if ``block``)."""
        now = time.monotonic()
        timers = self._timers
        due = [t for t in timers if t[0] <= now or (t[3] is not None and t[3].is_set())]
        if due:
            self._timers = timers = [t for t in timers if t not in due]
            heapq.heapify(timers)
            self._ready.extend((waiter, Outcome()) for _, _, waiter, _ in sorted(due))
        timeout = 0.0
        if block and not self._ready:
            timeout = max(0.0, timers[0][0] - now) if timers else 3600.0
            if any(t[3] is not None for t in timers):
                timeout = min(timeout, 0.05)  # a stop request ends an idle pause promptly
        try:
            while True:
                item = self._completions.get(block=timeout > 0, timeout=timeout or None)
                self._in_flight -= 1
                self._ready.append(item)
                timeout = 0.0
        except queue.Empty:
            pass

    def _deliver(self, waiter: int, outcome: Outcome) -> None:
        if waiter < 0:
            self._finished[waiter] = outcome
            return
        if waiter not in self._alive:
            return
        kind, pending = self._step(waiter, outcome)
        if kind == b"wait":
            pending.start(self, waiter)
        elif kind == b"yield":
            self._ready.append((waiter, Outcome()))
        elif kind == b"done":
            self._alive.discard(waiter)
            self._done.add(waiter)
            for w in self._awaiters.pop(waiter, []):
                self._ready.append((w, Outcome(waiter)))

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        """Drop every task, timer and queued I/O; I/O threads end when their call returns."""
        self._closed = True
        if self._alive or self._done:
            try:
                self._drop_all()
            except Exception:  # noqa: BLE001 - the Lua state may already be unusable
                pass
        self._alive.clear()
        self._done.clear()
        self._ready.clear()
        self._timers.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


__all__ = ["Anchor", "Blocking", "Done", "Outcome", "Pending", "Scheduler", "Sleep", "TaskDone"]
