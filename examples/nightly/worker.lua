-- A nightly report: a cron schedule starts NightlyReport; it records the run's date and item
-- list once (side_effect: replays see the same values) and runs one child workflow per item.
local workflow = require("assay.workflow")

workflow.define("NightlyReport", function(ctx, input)
    local run = ctx:side_effect("run", function()
        return {
            date = os.date("!%Y-%m-%d"),
            items = (input and input.items) or { "orders", "refunds", "signups" },
        }
    end)
    local parts, rows = {}, 0
    for i, item in ipairs(run.items) do
        parts[i] = ctx:start_child_workflow("ReportItem", {
            workflow_id = ctx.workflow_id .. "-" .. item,
            input = { item = item, date = run.date },
        })
        rows = rows + parts[i].rows
    end
    return { date = run.date, items = #parts, rows = rows, parts = parts }
end)

workflow.define("ReportItem", function(ctx, input)
    return ctx:execute_activity("count_rows", input)
end)

workflow.activity("count_rows", function(ctx, input)
    -- a real report would query a database here
    return { item = input.item, rows = 10 * #input.item }
end)

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://127.0.0.1:8104")
workflow.listen({ queue = "default" })
