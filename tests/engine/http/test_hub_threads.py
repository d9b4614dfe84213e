"""The hub's waiters in callers' threads (the embedded engine's held polls and ``/wait``)."""

from __future__ import annotations

import threading

from bridge.engine.api.notify import Hub

KEY = ("workflow_task", "q")


def test_a_notice_between_subscribing_and_waiting_is_not_lost() -> None:
    hub = Hub()
    with hub.subscribe_here(KEY) as sub:
        hub.notify("workflow_task", {"queue": "q"})
        hub.notify("workflow_task", {"queue": "q"})  # two notices before the wait: one wake-up
        assert sub.wait(30) is True
        assert sub.wait(0) is False  # the wake-up was taken
        hub.notify("workflow_task", {"queue": "q"})  # a later notice wakes it again
        assert sub.wait(30) is True
    assert hub.waiting(KEY) == 0


def test_a_notice_wakes_a_thread_blocked_in_its_wait() -> None:
    hub = Hub()
    subscribed = threading.Event()
    woken: list[bool] = []

    def poll() -> None:
        with hub.subscribe_here(KEY) as sub:
            subscribed.set()
            woken.append(sub.wait(30))

    thread = threading.Thread(target=poll)
    thread.start()
    assert subscribed.wait(10)
    hub.notify("workflow_task", {"queue": "other"})  # another key: no wake-up
    hub.notify("workflow_task", {"queue": "q"})
    thread.join(30)
    assert not thread.is_alive()
    assert woken == [True]
    assert hub.waiting(KEY) == 0


def test_a_wait_without_a_notice_times_out() -> None:
    hub = Hub()
    with hub.subscribe_here(KEY) as sub:
        hub.notify("workflow_task", {"queue": "other"})
        assert sub.wait(0.01) is False


def test_closing_wakes_waiters_and_every_later_subscription() -> None:
    hub = Hub()
    with hub.subscribe_here(KEY) as sub:
        hub.close_threads()
        assert sub.wait(30) is True
    with hub.subscribe_here(("workflow_terminal", "wf")) as late:
        assert late.wait(30) is True
