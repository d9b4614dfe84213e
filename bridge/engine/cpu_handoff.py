"""A thread woken by an in-process engine call starts on the CPU of the thread that woke it.

A client awaiting its workflow and a worker running it are two threads of one process that
take turns: the client's start wakes the worker's held poll, then the client blocks in
``/wait``; the worker's completion wakes that ``/wait``, then the worker blocks in its next
poll. Left to itself, Linux wakes each thread on the CPU it last ran on, which has gone idle
in the meantime, so every hand-off wakes an idle CPU and the thread runs there with cold
caches (in a virtual machine the idle vCPU was halted and must be resumed). Measured on a
2-vCPU VM, a one-activity workflow cost 2.4-2.5 ms this way, and 1.8-1.9 ms with the whole
process pinned to one CPU.

:class:`CpuHandoff` gets the second figure without pinning anything for long: just before
the waking thread releases a blocked waiter, it narrows the waiter's CPU affinity to its own
CPU, so the kernel queues the waiter there; the waiter widens it back to what it was as soon
as it runs (:meth:`CpuHandoff.restore`). Between those two moments the waiter is blocked, so
no code of the application runs under the narrowed mask. A waiter whose mask does not
include the waker's CPU, or allows one CPU only, is left alone.

Linux only (``os.sched_setaffinity`` and glibc's or musl's ``sched_getcpu``); elsewhere
:meth:`CpuHandoff.create` answers None and the OS places threads as usual.
"""

from __future__ import annotations

import os
from collections.abc import Callable


def _sched_getcpu() -> Callable[[], int] | None:
    """libc's ``sched_getcpu`` (the calling thread's CPU), or None where it is missing."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    import ctypes  # here: only an engine that hands CPUs over loads it

    try:
        getcpu = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return None
    getcpu.argtypes = []
    getcpu.restype = ctypes.c_int
    return getcpu


class CpuHandoff:
    """Places a woken thread on the waking thread's CPU (see the module docstring).

    Build it with :meth:`create`.
    """

    __slots__ = ("_getcpu",)

    def __init__(self, getcpu: Callable[[], int]) -> None:
        self._getcpu = getcpu

    @classmethod
    def create(cls) -> CpuHandoff | None:
        """A hand-off where the platform allows it (Linux), else None."""
        getcpu = _sched_getcpu()
        return None if getcpu is None else cls(getcpu)

    def place(self, native_id: int) -> frozenset[int] | None:
        """Narrow the affinity of the blocked thread ``native_id`` to the calling thread's
        CPU. Returns the thread's mask before, for :meth:`restore`, or None when the thread
        was left as it was."""
        cpu = self._getcpu()
        if cpu < 0:
            return None
        try:
            before = os.sched_getaffinity(native_id)
            if len(before) < 2 or cpu not in before:
                return None
            os.sched_setaffinity(native_id, (cpu,))
        except OSError:  # the thread is gone, or a cpuset forbids the CPU
            return None
        return frozenset(before)

    @staticmethod
    def restore(before: frozenset[int]) -> None:
        """Give the calling thread back the mask :meth:`place` returned for it."""
        try:
            os.sched_setaffinity(0, before)
        except OSError:  # a cpuset shrank meanwhile: the kernel keeps what it allows
            pass
