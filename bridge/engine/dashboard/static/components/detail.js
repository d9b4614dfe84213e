// One workflow: its record, what it waits on, input and result or error, parent and children,
// and its history as a timeline; signal, cancel and terminate behind a confirmation.

import {
  api, h, table, statusBadge, workflowLink, fmtTime, fmtDuration, pretty, parseJsonField,
  confirmDialog, toast, errorBox,
} from "../lib.js";

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]);
const WORKFLOW_END = new Set(["WorkflowCompleted", "WorkflowFailed", "WorkflowCancelled",
  "WorkflowTerminated", "WorkflowContinuedAsNew"]);

/** The key that ties an event to the one that opened it (a schedule to its completion...). */
function spanKey(type, p) {
  p = p || {};
  if (type === "WorkflowStarted" || WORKFLOW_END.has(type)) return "workflow";
  if (type.startsWith("Activity")) return "activity:" + p.activity_seq;
  if (type.startsWith("Timer")) return "timer:" + p.timer_seq;
  if (type.startsWith("ChildWorkflow")) return "child:" + p.child_workflow_id;
  if (type === "WorkflowAwaitingSignal" || type === "SignalReceived") return "signal:" + p.signal;
  return null;
}
const OPENS = new Set(["WorkflowStarted", "ActivityScheduled", "TimerScheduled", "ChildWorkflowStarted",
  "WorkflowAwaitingSignal"]);

function parsed(text) {
  if (typeof text !== "string") return text;
  try { return JSON.parse(text); } catch { return text; }
}

/** One line of a payload for the collapsed timeline entry. */
function brief(payload) {
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  return text.length > 90 ? text.slice(0, 89) + "…" : text;
}

function timeline(events) {
  if (!events.length) return h("p", { class: "muted" }, "No events yet.");
  const t0 = events[0].timestamp;
  const open = new Map();
  return h("ol", { class: "timeline", id: "history" }, events.map((e) => {
    const payload = parsed(e.payload);
    const key = spanKey(e.event_type, payload);
    let took = "";
    if (key !== null && OPENS.has(e.event_type) && !open.has(key)) open.set(key, e.timestamp);
    else if (key !== null && open.has(key)) {
      took = "took " + fmtDuration(e.timestamp - open.get(key));
      open.delete(key);
    }
    return h("li", { "data-type": e.event_type, "data-seq": e.seq },
      h("span", { class: "seq" }, "#" + e.seq),
      h("span", {}, h("span", { class: "type" }, e.event_type), took ? h("div", { class: "took" }, took) : null),
      h("span", { class: "at", title: fmtTime(e.timestamp) }, "+" + fmtDuration(e.timestamp - t0 || 0)),
      payload === null || payload === undefined ? h("span") :
        h("details", {}, h("summary", { class: "mono" }, brief(payload)), h("pre", {}, pretty(payload))));
  }));
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

export function mount(root, { id }) {
  const title = h("h1", {}, id);
  const signalButton = h("button", { id: "action-signal", onclick: () => signal() }, "Signal…");
  const cancelButton = h("button", { id: "action-cancel", class: "danger", onclick: () => cancel() }, "Cancel…");
  const terminateButton = h("button", { id: "action-terminate", class: "danger", onclick: () => terminate() }, "Terminate…");
  const body = h("div", { id: "detail" });
  root.append(title, h("div", { class: "actions" }, signalButton, cancelButton, terminateButton), body);
  const path = "/workflows/" + encodeURIComponent(id);
  let children = [];
  const after = (what) => { toast(what); view.refresh(); };

  function signal() {
    const name = h("input", { id: "signal-name", required: true, placeholder: "signal name" });
    const payload = h("textarea", { id: "signal-payload", placeholder: '{"approved": true}' });
    confirmDialog({
      title: "Send a signal to " + id,
      body: [h("label", {}, "Name", name), h("label", {}, "Payload (JSON, empty for none)", payload)],
      ok: "Send signal",
      action: async () => {
        const value = parseJsonField(payload.value, "The payload");
        await api("POST", path + "/signal/" + encodeURIComponent(name.value.trim()), { body: { payload: value } });
        after("Signal " + name.value.trim() + " sent");
      },
    });
  }

  function cancel() {
    confirmDialog({
      title: "Cancel " + id + "?",
      body: [h("p", {}, "The workflow is asked to stop: it runs its cancellation handling, and its children are cancelled too.")],
      ok: "Cancel workflow", danger: true,
      action: async () => { await api("POST", path + "/cancel"); after("Cancellation requested"); },
    });
  }

  function terminate() {
    const reason = h("input", { id: "terminate-reason", placeholder: "why (optional)" });
    confirmDialog({
      title: "Terminate " + id + "?",
      body: [h("p", {}, "The workflow ends at once; no workflow code runs again."), h("label", {}, "Reason", reason)],
      ok: "Terminate", danger: true,
      action: async () => {
        await api("POST", path + "/terminate", { body: { reason: reason.value.trim() || null } });
        after("Workflow terminated");
      },
    });
  }

  const view = {
    wants: (event) => event.workflow_id === id || children.some((c) => c.id === event.workflow_id),
    async refresh() {
      let wf;
      try {
        wf = await api("GET", path);
      } catch (err) {
        if (err.status !== 404) throw err;
        for (const b of [signalButton, cancelButton, terminateButton]) b.disabled = true;
        body.replaceChildren(h("p", { class: "error", id: "not-found" }, "No workflow with id " + id + "."));
        return;
      }
      const [events, kids] = await Promise.all([api("GET", path + "/events"), api("GET", path + "/children")]);
      children = kids;
      const done = TERMINAL.has(wf.status);
      for (const b of [signalButton, cancelButton, terminateButton]) b.disabled = done;
      const waits = wf.waiting_on || [];
      const outcome = wf.error !== null && wf.error !== undefined
        ? h("section", { class: "panel" }, h("h2", {}, "Error"), h("pre", { id: "wf-error", class: "error" }, pretty(wf.error)))
        : h("section", { class: "panel" }, h("h2", {}, "Result"),
            done ? h("pre", { id: "wf-result" }, pretty(wf.result)) : h("p", { class: "muted" }, "Not finished."));
      body.replaceChildren(
        h("div", { class: "grid" },
          h("section", { class: "panel" }, h("h2", {}, "Workflow"), facts([
            ["Status", h("span", { id: "wf-status" }, statusBadge(wf.status))],
            ["Type", wf.workflow_type], ["Queue", wf.task_queue], ["Namespace", wf.namespace],
            ["Run id", h("span", { class: "mono" }, wf.run_id)],
            ["Parent", wf.parent_id ? workflowLink(wf.parent_id) : null],
            ["Worker", wf.claimed_by], ["Created", fmtTime(wf.created_at)], ["Updated", fmtTime(wf.updated_at)],
            ["Finished", wf.completed_at ? fmtTime(wf.completed_at) : null],
            ["Took", wf.completed_at ? fmtDuration(wf.completed_at - wf.created_at) : null],
          ])),
          h("section", { class: "panel" }, h("h2", {}, "Waiting on"),
            waits.length
              ? h("ul", { class: "waits", id: "waiting-on" }, waits.map((w) =>
                  h("li", { "data-kind": w.kind, class: w.served === false ? "unserved" : "" }, w.text)))
              : h("p", { class: "muted", id: "waiting-on" }, done ? "Nothing: the workflow is finished." : "Nothing."))),
        h("div", { class: "grid" },
          h("section", { class: "panel" }, h("h2", {}, "Input"), h("pre", { id: "wf-input" }, pretty(wf.input))),
          outcome),
        h("section", { class: "panel" }, h("h2", {}, "Children"),
          table(["Id", "Type", "Status", "Created"], kids.map((c) => [
            workflowLink(c.id), c.workflow_type, statusBadge(c.status), fmtTime(c.created_at)]),
          "No child workflows.", { id: "children" })),
        h("section", { class: "panel" }, h("h2", {}, `History (${events.length} events)`), timeline(events)));
    },
    showError(err) { body.replaceChildren(errorBox(err)); },
  };
  return view;
}
