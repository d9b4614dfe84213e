"""lupa's two thread faults (lupa-notes §1.9), as regression tests of the bridge's own objects.

1. A main-state Lua object touched from Python while a coroutine runs reads the wrong stack
   slots (``t[k]`` answers ``(<Lua thread>, value)``).
2. A Lua object obtained inside a coroutine and used, or merely freed, after that coroutine was
   collected reads freed memory (a segfault).

Each scenario runs in its own Python process with faulthandler on, so a segfault fails the test
instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import LocalServer


def run_isolated(code: str, *args: str, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter; fail on any non-zero exit (a signal included)."""
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}")
    return proc.stdout


def test_anchored_objects_read_right_inside_coroutines() -> None:
    out = run_isolated("""
        from bridge.runtime.runtime import Runtime
        rt = Runtime(log_stderr=False)
        kept = rt.anchor(rt.execute("return {a = 7}"))
        codec = rt.anchor(rt.execute("return function(x) return x * 2 end"))
        rt.set_global("probe", lambda: (kept.get()[b"a"], codec(21)))
        main = rt.execute("return probe()")
        co = rt.execute("return select(2, coroutine.resume(coroutine.create(probe)))")
        nested = rt.execute("return select(2, coroutine.resume(coroutine.create(function()"
                            " return select(2, coroutine.resume(coroutine.create(probe))) end)))")
        print(main, co, nested)
    """)
    assert out.split() == ["(7,", "42)"] * 3


def test_globals_holding_lua_state_answer_the_same_inside_coroutines(
        http_server: LocalServer) -> None:
    out = run_isolated("""
        import sys
        from bridge.runtime.runtime import Runtime
        rt = Runtime(log_stderr=False)
        rt.set_global("URL", sys.argv[1].encode())
        history = '{"workflow_id": "w", "history": [' + ",".join(
            '{"seq": %d, "event_type": "ActivityCompleted", "payload": "%s"}' % (i, "x" * 200)
            for i in range(1, 120)) + ']}'
        rt.set_global("H1", history.encode())
        rt.set_global("H2", (history[:-2] + ',{"seq": 120, "event_type": "X"}]}').encode())
        calls = '''
            local r = http.post(URL .. "/echo", {a = 1, n = {1, 2}}, {headers = {["X-N"] = 5}})
            local c = http.client({timeout = 5}):post(URL .. "/echo", {b = 2}).status
            assert.matches("abc", "^a")
            local t1 = json.parse(H1)
            local t2 = json.parse(H2)
            return json.parse(r.body).body .. " " .. c .. " " .. #t1.history .. " " .. #t2.history
        '''
        main = rt.execute(calls)
        co = rt.execute("local f = ... return select(2, coroutine.resume(coroutine.create(f)))",
                        "=co", rt.compile(calls, "=c"))
        print(main.decode())
        print(co.decode())
    """, http_server.url)
    main, co = out.strip().split("\n")
    assert main == '{"a":1,"n":[1,2]} 200 119 120'
    assert co == main


def test_state_made_inside_collected_coroutines_is_used_safely_afterwards() -> None:
    out = run_isolated("""
        import gc
        from bridge.runtime.runtime import Runtime
        rt = Runtime(log_stderr=False, memory_limit=None)
        big = '{"workflow_id": "w", "history": [' + ",".join(
            '{"seq": %d, "payload": "%s"}' % (i, "y" * 300) for i in range(1, 80)) + ']}'
        rt.set_global("BIG", big.encode())
        rt.set_global("MORE", (big[:-2] + ',{"seq": 80}]}').encode())
        total = rt.execute('''
            local handles = {}
            for i = 1, 2000 do
                local co = coroutine.create(function()
                    json.parse(BIG)                              -- keeps a template
                    handles[#handles + 1] = async.spawn(function() return i end)
                    pcall(http.get, "http://127.0.0.1:1/")      -- an error through requests
                    pcall(json.parse, "{")
                    local c = http.client({timeout = 1})
                    coroutine.yield()
                end)
                coroutine.resume(co)
            end
            collectgarbage() collectgarbage()
            local t = {} for i = 1, 100000 do t[i] = {i} end
            local n = #json.parse(MORE).history                 -- the template made in a coroutine
            local sum = 0
            for _, h in ipairs(handles) do sum = sum + h:await()[1] end
            return sum + n
        ''')
        gc.collect()
        rt.execute("collectgarbage() local t = {} for i = 1, 100000 do t[i] = {i} end")
        rt.close()
        gc.collect()
        print(total)
    """, timeout=300)
    assert out.strip() == str(sum(range(1, 2001)) + 80)


def test_lua_objects_in_python_cyclic_garbage_outlive_their_coroutines_safely() -> None:
    # A Python function that leaves its Lua argument in a reference cycle (as an exception's
    # frames do): the cycle is collected only after the coroutine has died.
    out = run_isolated("""
        import gc
        from bridge.runtime.runtime import Runtime
        rt = Runtime(log_stderr=False, memory_limit=None)

        def leak(t):
            cycle = [t]
            cycle.append(cycle)

        rt.set_global("leak", leak)
        gc.disable()
        rt.execute('''
            for i = 1, 3000 do
                local co = coroutine.create(function() leak({i}) coroutine.yield() end)
                coroutine.resume(co)
            end
            collectgarbage() collectgarbage()
            local t = {} for i = 1, 200000 do t[i] = {i} end
        ''')
        gc.enable()
        print(gc.collect() > 0)
    """)
    assert out.strip() == "True"


@pytest.mark.parametrize("n", [600])
def test_coroutines_pinned_for_python_are_released(n: int) -> None:
    out = run_isolated(f"""
        from bridge.runtime.runtime import Runtime
        rt = Runtime(log_stderr=False)
        before = rt.execute("collectgarbage() return collectgarbage('count')")
        rt.execute('''
            for i = 1, {n} * 4 do
                coroutine.wrap(function() json.encode({{i}}) end)()
            end
        ''')
        after = rt.execute("collectgarbage() collectgarbage() return collectgarbage('count')")
        print(int(after - before))
    """)
    assert int(out) < 600, f"{out} KiB still held after {n * 4} coroutines"
