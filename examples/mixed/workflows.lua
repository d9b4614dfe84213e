-- Lua half of the mixed example: a Lua workflow that calls a Python activity and
-- starts a Python child workflow, and Lua activities that the Python workflows call.
local workflow = require("assay.workflow")

workflow.define("OrderPipeline", function(ctx, input)
    -- "score" is a Python activity (worker.py)
    local scored = ctx:execute_activity("score", { text = input.text }, { max_attempts = 3 })
    ctx:sleep(0.2) -- a durable timer kept by the engine
    -- "Review" is a Python workflow (worker.py); it calls the Lua activity "shout"
    local review = ctx:start_child_workflow("Review", {
        workflow_id = ctx.workflow_id .. "-review",
        input = { score = scored.score, text = input.text },
    })
    return { order = input.order, score = scored.score, review = review }
end)

workflow.activity("shout", function(ctx, input)
    log.info("shouting " .. input.text)
    return { text = string.upper(input.text) .. "!" }
end)

workflow.activity("count_words", function(ctx, input)
    local n = 0
    for _ in string.gmatch(input.text, "%S+") do n = n + 1 end
    return { words = n }
end)

-- Run alone with `assay-bridge run workflows.lua` this would serve the Lua half only;
-- worker.py loads it with Worker.load_lua, which defers this call to Worker.run().
workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8103")
workflow.listen({ queue = "default" })
