-- The Lua side of the benchmark (bench/systems/bridge_worker.py loads it).
local workflow = require("assay.workflow")

-- W1/W2/W3: one activity.
workflow.define("LuaOne", function(ctx, input)
    local r = ctx:execute_activity("lua_echo", { n = input.n })
    return { n = r.n }
end)

workflow.activity("lua_echo", function(ctx, input)
    return { n = input.n }
end)

-- W4: `steps` sequential activities in one workflow.
workflow.define("LuaLong", function(ctx, input)
    local last
    for i = 1, input.steps do
        last = ctx:execute_activity("lua_echo", { n = i })
    end
    return { n = last and last.n or 0 }
end)
