"""``async.spawn`` / ``async.spawn_interval`` (lua-globals §1.4, §3.13), with assay's own checks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from bridge.runtime.runtime import Runtime
from tests.helpers import LocalServer, wait_until


def test_spawn_and_await_return_the_array_of_results(lua: Callable[..., Any]) -> None:
    assert lua("local h = async.spawn(function() return 42 end) return h.await()[1]") == 42
    assert lua("local h = async.spawn(function() sleep(0.01) return 'done' end) return h:await()[1]") == "done"
    assert lua("local r = async.spawn(function() return 1, nil, 3 end):await() return r[1], r[3], #r >= 1") == (1, 3, True)
    assert lua("return #async.spawn(function() end):await()") == 0


def test_several_tasks_and_their_results(lua: Callable[..., Any]) -> None:
    assert lua("""
        local hs = {}
        for i = 1, 3 do hs[i] = async.spawn(function() return i end) end
        return hs[1]:await()[1], hs[2]:await()[1], hs[3]:await()[1]
    """) == (1, 2, 3)


def test_tasks_start_only_when_their_creator_waits(lua: Callable[..., Any]) -> None:
    assert lua("""
        local order = {}
        local h = async.spawn(function() order[#order + 1] = "task" end)
        order[#order + 1] = "main"
        h:await()
        order[#order + 1] = "after"
        return table.concat(order, ",")
    """) == "main,task,after"


def test_a_sleeping_task_lets_the_others_run(lua: Callable[..., Any]) -> None:
    got = lua("""
        local order = {}
        local slow = async.spawn(function() sleep(0.05) order[#order + 1] = "slow" end)
        local fast = async.spawn(function() sleep(0.01) order[#order + 1] = "fast" end)
        local t0 = time()
        slow:await() fast:await()
        return table.concat(order, ","), time() - t0
    """)
    assert got[0] == "fast,slow"
    assert got[1] < 0.09  # the two sleeps overlapped


def test_a_task_error_is_raised_by_await(lua_error: Callable[..., str]) -> None:
    err = lua_error("local h = async.spawn(function() error('task failed') end) h.await()")
    assert err == "runtime error: test:1: task failed"
    err = lua_error("local h = async.spawn(function() json.parse('{') end) h.await()")
    assert err.startswith("runtime error: json.parse: EOF while parsing")


def test_a_second_await_raises(lua_error: Callable[..., str]) -> None:
    err = lua_error("local h = async.spawn(function() return 1 end) h:await() h:await()")
    assert err == "async handle already awaited"


def test_spawn_checks_its_argument(lua_error: Callable[..., str]) -> None:
    assert lua_error("async.spawn(42)") == "bad argument #1: error converting Lua number to function"
    assert lua_error("async.spawn()") == "bad argument #1: error converting Lua nil to function"


def test_interval_runs_until_cancelled(lua: Callable[..., Any]) -> None:
    count, after = lua("""
        local count = 0
        local h = async.spawn_interval(0.02, function() count = count + 1 end)
        sleep(0.09)
        h.cancel()
        local seen = count
        sleep(0.05)
        return seen, count
    """)
    assert count > 1
    assert after == count


def test_interval_first_call_comes_after_one_interval(lua: Callable[..., Any]) -> None:
    assert lua("""
        local count = 0
        local h = async.spawn_interval(0.05, function() count = count + 1 end)
        sleep(0.01)
        h:cancel()
        return count
    """) == 0


def test_interval_checks_its_arguments(lua_error: Callable[..., str]) -> None:
    assert lua_error("async.spawn_interval(0, function() end)") == "async.spawn_interval: interval must be positive"
    assert lua_error("async.spawn_interval(-1, function() end)") == "async.spawn_interval: interval must be positive"
    assert lua_error("async.spawn_interval(1, 5)") == "bad argument #2: error converting Lua number to function"


def test_interval_callback_error_is_logged_and_stops(caplog: pytest.LogCaptureFixture, lua: Callable[..., Any]) -> None:
    count = lua("""
        local count = 0
        async.spawn_interval(0.01, function() count = count + 1 error("tick failed") end)
        sleep(0.08)
        return count
    """)
    assert count == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "assay"]
    assert "async.spawn_interval: callback error: runtime error: test:3: tick failed" in messages


def test_http_in_tasks_runs_concurrently(lua: Callable[..., Any], http_server: LocalServer) -> None:
    # /slow answers once released; two tasks wait on it at the same time while a third releases it
    release = threading.Timer(0.3, http_server.release.set)
    release.start()
    try:
        got = lua("""
            local url = ...
            local a = async.spawn(function() return http.get(url .. "/slow").body end)
            local b = async.spawn(function() return http.get(url .. "/slow").body end)
            local t0 = time()
            return a:await()[1], b:await()[1], time() - t0
        """, http_server.url.encode())
    finally:
        release.cancel()
    assert got[:2] == ("late", "late")
    assert got[2] < 1.0
    assert [r.path for r in http_server.requests].count("/slow") == 2


def test_tasks_inside_a_user_coroutine_block_the_coroutine_only(lua: Callable[..., Any]) -> None:
    assert lua("""
        local co = coroutine.wrap(function()
            local h = async.spawn(function() sleep(0.01) return "in task" end)
            sleep(0.01)   -- blocks this coroutine; the task runs meanwhile
            return h:await()[1]
        end)
        return co()
    """) == "in task"


def test_an_await_that_cannot_finish_is_an_error(lua: Callable[..., Any]) -> None:
    err = lua("""
        local h, result
        h = async.spawn(function()   -- waits for itself from a coroutine: it can never finish
            local ok, e = pcall(coroutine.wrap(function() return h:await() end))
            result = tostring(e)
        end)
        sleep(0.02)
        return result
    """)
    assert err == "async: deadlock: nothing left to run while waiting"


def test_tasks_never_awaited_end_with_the_script() -> None:
    before = {t.ident for t in threading.enumerate()}
    rt = Runtime(log_stderr=False)
    rt.execute("""
        forever = 0
        async.spawn_interval(0.01, function() forever = forever + 1 end)
        async.spawn(function() sleep(3600) end)
        async.spawn(function() return http.get("http://127.0.0.1:1/") end)
        sleep(0.05)
    """)
    ticks = rt.get_global("forever")
    assert ticks >= 1
    rt.close()
    assert rt.scheduler.is_done(1) is False
    wait_until(lambda: not {t.ident for t in threading.enumerate()} - before,
               what="the I/O threads to end")
    with pytest.raises(Exception, match="the script has ended"):
        rt.execute("async.spawn(function() end)")
