// Schedules: create one, pause, resume and delete (after a confirmation).

import {
  api, h, table, workflowLink, fmtTime, parseJsonField, confirmDialog, toast, errorBox, session,
} from "../lib.js";

export function mount(root) {
  const field = (name, attrs) => h("input", { id: "schedule-" + name, name, ...attrs });
  const name = field("name", { required: true, placeholder: "nightly-report" });
  const type = field("workflow_type", { required: true, placeholder: "Report" });
  const cron = field("cron_expr", { required: true, placeholder: "0 3 * * *" });
  const queue = field("task_queue", { placeholder: "default" });
  const overlap = h("select", { id: "schedule-overlap_policy", name: "overlap_policy" },
    ["skip", "cancel_old", "allow_all"].map((p) => h("option", { value: p }, p)));
  const input = h("textarea", { id: "schedule-input", name: "input", placeholder: "input as JSON (optional)" });
  const formError = h("p", { class: "error", hidden: true });
  const list = h("div", { id: "schedules" });

  async function create(event) {
    event.preventDefault();
    formError.hidden = true;
    try {
      await api("POST", "/schedules", { body: {
        name: name.value.trim(), workflow_type: type.value.trim(), cron_expr: cron.value.trim(),
        task_queue: queue.value.trim() || undefined, overlap_policy: overlap.value,
        input: parseJsonField(input.value, "The input"), namespace: session.namespace(),
      } });
      toast("Schedule " + name.value.trim() + " created");
      for (const el of [name, type, cron, queue, input]) el.value = "";
      await view.refresh();
    } catch (err) {
      formError.textContent = err.message;
      formError.hidden = false;
    }
  }

  async function act(schedule, what) {
    await api("POST", "/schedules/" + encodeURIComponent(schedule.name) + "/" + what, { namespace: true });
    toast("Schedule " + schedule.name + (what === "pause" ? " paused" : " resumed"));
    await view.refresh();
  }

  function remove(schedule) {
    confirmDialog({
      title: "Delete schedule " + schedule.name + "?",
      body: [h("p", {}, "No more workflows will be started by it. Workflows it started keep running.")],
      ok: "Delete", danger: true,
      action: async () => {
        await api("DELETE", "/schedules/" + encodeURIComponent(schedule.name), { namespace: true });
        toast("Schedule " + schedule.name + " deleted");
        await view.refresh();
      },
    });
  }

  root.append(
    h("h1", {}, "Schedules"),
    h("section", { class: "panel" }, list),
    h("section", { class: "panel" }, h("h2", {}, "New schedule"),
      h("form", { id: "schedule-form", onsubmit: create },
        h("div", { class: "filters" },
          h("label", {}, "Name", name), h("label", {}, "Workflow type", type),
          h("label", {}, "Cron (5 fields, or 6-7 with seconds)", cron), h("label", {}, "Queue", queue),
          h("label", {}, "When the last run is still going", overlap)),
        h("label", {}, "Input", input), formError,
        h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Create schedule")))));

  const view = {
    async refresh() {
      const schedules = await api("GET", "/schedules", { namespace: true });
      list.replaceChildren(table(["Name", "Workflow type", "Cron", "Queue", "State", "Next run", "Last run", "Last workflow", ""],
        schedules.map((s) => ({ attrs: { "data-name": s.name }, cells: [
          s.name, s.workflow_type, h("code", {}, s.cron_expr), s.task_queue,
          h("span", { class: "state" }, s.paused ? "paused" : "active"),
          s.paused ? "—" : fmtTime(s.next_run_at), fmtTime(s.last_run_at),
          s.last_workflow_id ? workflowLink(s.last_workflow_id) : "—",
          h("span", { class: "actions" },
            h("button", { class: "toggle", onclick: () => act(s, s.paused ? "resume" : "pause").catch(view.showError) },
              s.paused ? "Resume" : "Pause"),
            h("button", { class: "danger delete", onclick: () => remove(s) }, "Delete")),
        ] })),
        "No schedules in this namespace.", { id: "schedule-table" }));
    },
    showError(err) { list.replaceChildren(errorBox(err)); },
  };
  return view;
}
