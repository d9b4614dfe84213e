-- A workflow that waits for a person: it prepares a request, then waits (durably, for as
-- long as it takes; no worker is busy meanwhile) for a "decision" signal.
local workflow = require("assay.workflow")

workflow.define("Approval", function(ctx, input)
    local request = ctx:execute_activity("prepare", input)
    local decision = ctx:wait_for_signal("decision")
    if not (decision and decision.approved) then
        return { request = request.id, status = "rejected", by = decision and decision.by }
    end
    local applied = ctx:execute_activity("apply", { id = request.id, amount = input.amount })
    return { request = request.id, status = "approved", by = decision.by, applied = applied.ok }
end)

workflow.activity("prepare", function(ctx, input)
    return { id = "req-" .. input.item, amount = input.amount }
end)

workflow.activity("apply", function(ctx, input)
    log.info("applying " .. input.id .. " for " .. input.amount)
    return { ok = true }
end)

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8102")
workflow.listen({ queue = "default" })
