"""``{}`` stays ``{}`` through a worker, Lua and Python handlers alike, while the script's own
``json.encode`` keeps assay's rule (an empty table is ``[]``)."""

from __future__ import annotations

import json
from typing import Any

from bridge import Client, Worker
from bridge.testing import EngineServer

LUA = """
local workflow = require("assay.workflow")
workflow.define("LuaKeeps", function(ctx, input)
    local echoed = ctx:execute_activity("py_echo", input, {task_queue = "objects"})
    local lua_echoed = ctx:execute_activity("lua_echo", input, {task_queue = "objects"})
    return {input = input, py = echoed, lua = lua_echoed, literal = {},
            encoded = json.encode(input), reparsed = json.parse("{}")}
end)
workflow.activity("lua_echo", function(ctx, input) return input end)
"""

def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


INPUT = {"a": {}, "b": [{}], "c": [], "d": {"e": {}}}


def test_empty_objects_survive_lua_and_python_handlers(engine_server: EngineServer) -> None:
    w = Worker(engine_server.url, queue="objects", log_stderr=False)

    @w.activity("py_echo")
    def py_echo(ctx: Any, input: Any) -> Any:
        assert input == INPUT  # the Python handler sees {} as {}
        return input

    @w.workflow("PyKeeps")
    def py_keeps(ctx: Any, input: Any) -> Any:
        lua = ctx.execute_activity("lua_echo", input, task_queue="objects")
        return {"input": input, "lua": lua, "made": {}}

    w.load_lua(LUA)
    w.start()
    try:
        assert w.wait_registered(timeout=30)
        with Client(engine_server.url) as client:
            client.start("LuaKeeps", "keeps-lua", INPUT, task_queue="objects")
            client.start("PyKeeps", "keeps-py", INPUT, task_queue="objects")
            lua = client.result("keeps-lua", timeout=60)
            py = client.result("keeps-py", timeout=60)
            scheduled = [_decoded(_decoded(e["payload"])["input"])
                         for e in client.events("keeps-lua")
                         if e["event_type"] == "ActivityScheduled"]
    finally:
        w.stop()
        w.join(timeout=30)
    assert w.errors == []
    assert lua["input"] == lua["py"] == lua["lua"] == INPUT
    assert scheduled == [INPUT, INPUT]
    # assay's own rules inside the script are unchanged
    assert lua["literal"] == [] and lua["reparsed"] == {}
    assert lua["encoded"] == '{"a":[],"b":[[]],"c":[],"d":{"e":[]}}'
    assert py == {"input": INPUT, "lua": INPUT, "made": {}}
