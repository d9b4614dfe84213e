"""bridge.Engine in this process: an in-process Worker and Client run Lua and Python
workflows with no socket."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import bridge
from bridge import Client, Worker, WorkflowContext
from bridge.engine.embedded import EmbeddedEngine
from bridge.wire import IN_PROCESS_URL

LUA = """
local workflow = require("assay.workflow")
workflow.define("LuaGreeting", function(ctx, input)
    return { text = ctx:execute_activity("greet", input) }
end)
"""


def test_bridge_engine_is_the_embedded_engine() -> None:
    assert bridge.Engine is EmbeddedEngine
    assert issubclass(bridge.EngineClosedError, bridge.EngineUnavailableError)


def test_in_process_worker_and_client_run_lua_and_python_workflows(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with bridge.Engine(f"sqlite:///{tmp_path / 'app.db'}", poll_wait_s=0.5) as engine:
        assert engine.url is None
        worker = Worker(engine=engine, log_stderr=False)
        assert worker.url == IN_PROCESS_URL

        @worker.activity("greet")
        def greet(ctx: Any, input: Any) -> str:
            return f"hello, {input['name']}!"

        @worker.workflow("PyGreeting")
        def py_greeting(ctx: WorkflowContext, input: Any) -> Any:
            return {"text": ctx.execute_activity("greet", input)}

        worker.load_lua(LUA)
        worker.start()
        try:
            with Client(engine=engine) as client:
                lua = client.start("LuaGreeting", input={"name": "lua"})
                py = client.start("PyGreeting", input={"name": "py"})
                assert client.result(lua["workflow_id"], timeout=30) == {"text": "hello, lua!"}
                assert client.result(py["workflow_id"], timeout=30) == {"text": "hello, py!"}
        finally:
            worker.stop()
            worker.join(30)
        assert worker.errors == []
    assert set(threading.enumerate()) - before == set()
