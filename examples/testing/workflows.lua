-- Onboarding: welcome a new user, wait a day, then send some tips.
local workflow = require("assay.workflow")

workflow.define("Onboard", function(ctx, input)
    local welcome = ctx:execute_activity("send_welcome", { user = input.user })
    ctx:sleep(86400) -- one day
    local tips = ctx:execute_activity("send_tips", { user = input.user })
    return { welcome = welcome.sent, tips = tips.sent }
end)

workflow.activity("send_welcome", function(ctx, input)
    return { sent = "welcome, " .. input.user }
end)

workflow.activity("send_tips", function(ctx, input)
    return { sent = "three tips for " .. input.user }
end)

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8080")
workflow.listen({ queue = "default" })
