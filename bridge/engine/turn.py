"""Turns for the threads that call an embedded engine in-process.

A client starting workflows and a worker running them are two threads of one process. On a
machine with several CPUs both stay runnable, and each GIL release in sqlite3 or lupa (dozens
a workflow) hands the interpreter to the other thread on the other CPU: a wake-up, a switch
and cold caches every time. On one CPU the same work runs in the kernel's slices and costs a
third less. :class:`Turn` gives the engine's callers such slices themselves: a thread keeps the
turn across its engine calls and the work in between, and a thread that wants it waits until
the holder

* blocks in a held poll or ``/wait`` (:meth:`Turn.block`),
* has been away from the engine for longer than ``grace_s`` (it went on with other work), or
* has held it for ``quantum_s`` (the waiter takes it; the former holder waits at its next
  engine call).

A holder leaving a call does not notify, so a waiter looks whether the holder has gone away by
waking up: once ``grace_s`` after it started waiting, then when the quantum ends (or the grace
of an absence it saw on the way). Each of those wake-ups takes the GIL from the holder for a
moment, on another CPU, which slows the holder down. Looking every ``grace_s`` instead cost
the embedded engine's W3 about three more voluntary context switches a workflow. A holder that
goes away after the waiter's first look keeps the turn until the quantum ends.

The turn is advisory: it orders the callers, it guards no state. No caller waits on one holder
for longer than a quantum, and the engine is as correct without the turn.
"""

from __future__ import annotations

import sys
import threading
import time

#: How long a thread that calls the engine without blocking keeps the turn while another
#: waits: twice the slice CPython gives a thread holding the GIL (``sys.getswitchinterval()``,
#: 5 ms by default). Each hand-off costs both threads their warm caches, so under sustained
#: load a longer quantum buys throughput (embedded W3: 5-9 % over one switch interval) with
#: the wait of a caller that arrives while another keeps the engine busy.
QUANTUM_S = 2 * sys.getswitchinterval()
#: How long the holder may be away from the engine (between two calls) before a waiting
#: thread takes the turn: longer than a worker's step between two calls or a client's between
#: two starts, short enough that a thread going on with other work delays no one noticeably.
GRACE_S = 0.0005


class Turn:
    """The turn of one embedded engine's in-process callers (see the module docstring).

    Args:
        quantum_s: the longest a holder keeps the turn while another thread waits.
        grace_s: the longest a holder may be away from the engine and keep it.
    """

    __slots__ = ("quantum_s", "grace_s", "_cond", "_owner", "_since", "_away", "_waiting",
                 "handoffs", "looks")

    def __init__(self, quantum_s: float = QUANTUM_S, grace_s: float = GRACE_S) -> None:
        self.quantum_s = quantum_s
        self.grace_s = grace_s
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._since = 0.0  # when the holder took the turn
        # (thread, when) the holder left its last call; set without the lock, so it names the
        # thread it is about: a holder whose turn was just taken cannot mark the new one away
        self._away: tuple[int, float] | None = None
        self._waiting = 0
        #: How many times a thread took the turn from no one or from another (benchmarks).
        self.handoffs = 0
        #: How many times a waiting thread woke up to look at the holder (benchmarks).
        self.looks = 0

    @property
    def waiting(self) -> int:
        """How many threads wait for the turn now."""
        return self._waiting

    def held_here(self) -> bool:
        """Whether the calling thread holds the turn."""
        return self._owner == threading.get_ident()

    def enter(self) -> None:
        """Called as an engine call starts: returns once the caller holds the turn, or once
        the holder has had it for a quantum or been away for the grace (it is then taken)."""
        me = threading.get_ident()
        if self._owner == me:
            self._away = None  # the holder's own calls: no lock
            return
        with self._cond:
            if self._owner is not None or self._waiting:
                self._waiting += 1
                try:
                    self._wait_for_turn()
                finally:
                    self._waiting -= 1
            self.handoffs += 1
            self._owner = me
            self._since = time.monotonic()
            self._away = None

    def leave(self) -> None:
        """Called as an engine call ends: the caller keeps the turn, away from the engine."""
        me = threading.get_ident()
        if self._owner == me:
            self._away = (me, time.monotonic())

    def block(self) -> None:
        """Called before the caller blocks in the engine (a held wait): the turn is free."""
        with self._cond:
            if self._owner == threading.get_ident():
                self._owner = None
                if self._waiting:
                    self._cond.notify()

    def _wait_for_turn(self) -> None:
        # A holder leaving its call does not notify: look once after grace_s, then at the
        # deadline (the quantum's end, or the grace's end of an absence seen now).
        looked = False
        while self._owner is not None:
            deadline = self._since + self.quantum_s
            away = self._away
            if away is not None and away[0] == self._owner:
                deadline = min(deadline, away[1] + self.grace_s)
            left = deadline - time.monotonic()
            if left <= 0:
                return  # the holder's time is up: the turn is taken from it
            if not looked:
                left = min(left, self.grace_s)
                looked = True
            self._cond.wait(left)
            self.looks += 1
