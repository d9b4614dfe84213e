"""A Lua activity that errors or allocates without bound fails with a clear error; the worker lives.

There is no instruction or time limit for activities (docs/reliability.md): a Lua loop that never
ends holds its poll loop until the process is killed, and the engine retries the activity on
another worker after its start-to-close timeout.
"""

from __future__ import annotations

from bridge import Client, Worker
from bridge.testing import EngineServer

LUA = r"""
local workflow = require("assay.workflow")
workflow.activity("boom", function(ctx, input) error("boom: " .. input.why) end)
workflow.activity("hog", function(ctx, input)
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end
end)
workflow.activity("fine", function(ctx, input) return "still here" end)
workflow.define("Runaway", function(ctx, input)
    local opts = { task_queue = "runaway", max_attempts = 1 }
    local ok1, e1 = pcall(function() return ctx:execute_activity("boom", { why = "bad" }, opts) end)
    local ok2, e2 = pcall(function() return ctx:execute_activity("hog", {}, opts) end)
    local r = ctx:execute_activity("fine", {}, opts)
    return { boom = tostring(e1), hog = tostring(e2), fine = r }
end)
"""


def test_lua_errors_and_memory_hogs_fail_cleanly_and_the_worker_survives() -> None:
    with EngineServer(poll_wait_s=1.0) as engine:
        w = Worker(engine.url, queue="runaway", memory_limit=16 * 1024 * 1024, log_stderr=False)
        w.load_lua(LUA, chunk_name="=runaway.lua")
        w.start()
        try:
            assert w.wait_registered(timeout=30)
            with Client(engine.url) as c:
                c.start("Runaway", "runaway-1", {}, task_queue="runaway")
                out = c.result("runaway-1", timeout=60)
            assert "boom: bad" in out["boom"]
            assert "not enough memory" in out["hog"]
            assert out["fine"] == "still here"
            assert w.errors == []
        finally:
            w.stop()
            w.join(timeout=30)
