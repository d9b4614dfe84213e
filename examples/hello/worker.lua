-- The smallest assay worker: one workflow that calls one Lua activity.
-- Runs unchanged under `assay run` or `assay-bridge run`.
local workflow = require("assay.workflow")

workflow.define("Hello", function(ctx, input)
    local greeting = ctx:execute_activity("greet", { name = input.name })
    return { message = greeting.message }
end)

workflow.activity("greet", function(ctx, input)
    log.info("greeting " .. input.name)
    return { message = "hello, " .. input.name .. "!" }
end)

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8101")
workflow.listen({ queue = "default" })
