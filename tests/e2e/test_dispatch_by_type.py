"""Two workers serving different types on one queue never fail each other's workflows, and a
type nobody serves waits, visibly, instead of failing. Real engine processes on SQLite and on
PostgreSQL, a real ``assay-bridge run`` Lua worker and a real Python worker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge import Client, Worker, WorkflowContext
from bridge.testing import EngineServer
from tests.engine import pgdb
from tests.helpers import new_id, wait_until

LUA_WORKER = r"""
local workflow = require("assay.workflow")
local Q = env.get("QUEUE")
workflow.define("LuaGreet", function(ctx, input)
    return { text = ctx:execute_activity("shout", { name = input.name }, { task_queue = Q }) }
end)
workflow.activity("shout", function(ctx, input) return string.upper(input.name) end)
workflow.connect(env.get("ENGINE_URL"))
workflow.listen({ queue = Q })
"""


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Iterator[EngineServer]:
    if request.param == "sqlite":
        with EngineServer(poll_wait_s=1.0) as server:
            yield server
        return
    name = pgdb.create_database()
    try:
        with EngineServer(backend_url=pgdb.url_for(name), poll_wait_s=1.0) as server:
            yield server
    finally:
        pgdb.drop_database(name)


def test_workers_of_different_types_share_a_queue(engine: EngineServer, tmp_path: Path) -> None:
    queue = new_id("q")
    (tmp_path / "worker.lua").write_text(LUA_WORKER)
    lua = subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", "worker.lua"], cwd=tmp_path,
        env={**os.environ, "ENGINE_URL": engine.url, "QUEUE": queue},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    py = Worker(engine.url, queue=queue, log_stderr=False)

    @py.workflow("PyScore")
    def py_score(ctx: WorkflowContext, input: Any) -> Any:
        return {"score": ctx.execute_activity("score", {"text": input["text"]}, task_queue=queue)}

    @py.activity("score")
    def score(ctx: Any, input: Any) -> Any:
        return len(input["text"])

    py.start()
    try:
        assert py.wait_registered(timeout=30)
        with Client(engine.url) as client:
            wait_until(lambda: len(client.workers()) >= 2, timeout_s=30,
                       what="both workers registered")
            ids = []
            for i in range(6):
                ids.append(client.start("LuaGreet", f"lua-{queue}-{i}", {"name": f"n{i}"},
                                        task_queue=queue)["workflow_id"])
                ids.append(client.start("PyScore", f"py-{queue}-{i}", {"text": "x" * i},
                                        task_queue=queue)["workflow_id"])
            lost = client.start("Nobody", f"lost-{queue}", {}, task_queue=queue)["workflow_id"]
            for wid in ids:
                i = int(wid.rsplit("-", 1)[1])
                expected = {"text": f"N{i}"} if wid.startswith("lua-") else {"score": i}
                assert client.result(wid, timeout=60) == expected, client.describe(wid)
            described = client.describe(lost)
            assert described["status"] == "PENDING"
            assert [w["text"] for w in described["waiting_on"]] == [
                f"a worker for workflow type 'Nobody' on queue '{queue}': "
                "no live worker serves it"]
            stalled = requests.get(f"{engine.url}/api/v1/workflows",
                                   params={"stalled": "true"}, timeout=30).json()
            assert [w["id"] for w in stalled] == [lost]
    finally:
        py.stop()
        py.join(timeout=30)
        lua.terminate()
        _, err = lua.communicate(timeout=30)
    assert py.errors == []
    assert lua.returncode == 0, err.decode(errors="replace")[-3000:]
