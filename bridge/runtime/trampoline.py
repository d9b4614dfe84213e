"""Python workflow and activity handlers inside the unchanged workflow.lua.

workflow.lua runs a workflow handler in a coroutine and its ctx methods ``coroutine.yield``
a command. A yield cannot cross the Python frame of a Python handler ("attempt to yield
across a C-call boundary", lupa-notes §1.5), so:

* every ctx call the Python handler makes runs the real Lua ctx method in a *nested*
  coroutine. If it returns (a replayed result), the value goes back to Python. If it yields a
  command, the command is stashed and Python unwinds with a private ``BaseException``;
* once the Python handler has returned, the Lua wrapper performs the real
  ``coroutine.yield(stash)`` from Lua, exactly where a Lua handler would have yielded.

The stash is checked before anything else, so a handler that swallows the unwinding signal
still suspends correctly.
"""

from __future__ import annotations

WORKFLOW_WRAPPER = r"""
local py_handler = ...
return function(ctx, input)
    local stash = nil
    local function ctx_call(method, a, b, c)
        local co = coroutine.create(function() return ctx[method](ctx, a, b, c) end)
        local ok, value = coroutine.resume(co)
        if not ok then return "error", value end
        if coroutine.status(co) == "dead" then return "ok", value end
        stash = value
        return "yield", nil
    end
    local status, value = py_handler(ctx_call, input, ctx.workflow_id)
    if stash ~= nil then
        coroutine.yield(stash)
        error("workflow ctx: yielded but resumed unexpectedly")
    end
    if status == "error" then error(value, 0) end
    return value
end
"""

ACTIVITY_WRAPPER = r"""
local py_handler = ...
return function(ctx, input)
    local status, value = py_handler(ctx, input)
    if status == "error" then error(value, 0) end
    return value
end
"""
