"""Worker processes for end-to-end tests: ``python -m bridge run`` of a real Lua worker script.

Activities and side effects append one line per execution to a log file, so tests count what
really ran, across processes and crashes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

WORKER_LUA = r"""
local workflow = require("assay.workflow")
local Q = env.get("QUEUE")
local LOG = env.get("EXEC_LOG")

local function record(line)
    local f = io.open(LOG, "a"); f:write(line .. "\n"); f:close()
end

workflow.define("TwoSteps", function(ctx, input)
    local a = ctx:execute_activity("add", { a = input.n, b = 1 }, { task_queue = Q })
    local b = ctx:execute_activity("add", { a = a, b = 10 }, { task_queue = Q })
    return { result = b }
end)

workflow.define("Approval", function(ctx, input)
    local first = ctx:wait_for_signal("approve")
    local second = ctx:wait_for_signal("ping")
    return { approved_by = first and first.by, ping = second }
end)

workflow.define("SleepThenEffect", function(ctx, input)
    ctx:sleep(input.seconds)
    local v = ctx:side_effect("effect", function()
        record("side_effect " .. ctx.workflow_id)
        return "effect-" .. ctx.workflow_id
    end)
    return { value = v }
end)

workflow.define("NilEffect", function(ctx, input)
    local v = ctx:side_effect("log", function() record("nil_effect " .. ctx.workflow_id) end)
    local n = ctx:execute_activity("add", { a = 1, b = 2 }, { task_queue = Q })
    return { effect_falsy = not v, n = n }
end)

workflow.define("Sleeper", function(ctx, input)
    ctx:sleep(input.seconds)
    ctx:execute_activity("add", { a = 1, b = 1 }, { task_queue = Q })
    return "woke"
end)

workflow.define("Nothing", function(ctx, input)
    local r = ctx:execute_activity("nothing", {}, { task_queue = Q })
    return { got = r == nil }
end)

workflow.define("Slow", function(ctx, input)
    return ctx:execute_activity("slow", { id = ctx.workflow_id },
        { task_queue = Q, start_to_close_secs = input.timeout, max_attempts = 3,
          initial_interval_secs = 0.1 })
end)

workflow.define("Parent", function(ctx, input)
    local c = ctx:start_child_workflow("TwoSteps",
        { workflow_id = ctx.workflow_id .. "-child", input = { n = input.n }, task_queue = Q })
    return { child = c.result }
end)

workflow.activity("add", function(ctx, input)
    record("add " .. input.a .. " " .. input.b)
    return input.a + input.b
end)

workflow.activity("nothing", function(ctx, input) record("nothing") end)

workflow.activity("slow", function(ctx, input)
    record("slow " .. input.id .. " " .. (env.get("WORKER_NAME") or "?"))
    local hang = env.get("HANG_FILE")
    if hang and not io.open(hang, "r") then
        local f = io.open(hang, "w"); f:write("x"); f:close()
        while true do sleep(0.05) end -- the first worker to run it hangs until killed
    end
    return "slow done"
end)

workflow.connect(env.get("ENGINE_URL"))
workflow.listen({ queue = Q })
"""


class ChildProcess:
    """A worker child process with its stderr in a file: stop (SIGTERM), kill (SIGKILL)."""

    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        """SIGTERM, then the exit code (SIGKILL after 30 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


class LuaWorker(ChildProcess):
    """A ``python -m bridge run worker.lua`` process on ``queue``."""

    def __init__(self, folder: Path, url: str, queue: str, name: str = "w1",
                 extra_env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.log = folder / "exec.log"
        script = folder / "worker.lua"
        if not script.exists():
            script.write_text(WORKER_LUA)
        env = {**os.environ, "ENGINE_URL": url, "QUEUE": queue, "EXEC_LOG": str(self.log),
               "WORKER_NAME": name, **(extra_env or {})}
        self.stderr_path = folder / f"{name}.stderr"
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "run", "worker.lua"], cwd=folder, env=env,
                stdout=subprocess.DEVNULL, stderr=err,
            )



def executions(log: Path) -> Counter[str]:
    """How many times each logged execution line occurred."""
    if not log.exists():
        return Counter()
    return Counter(line for line in log.read_text().splitlines() if line)
