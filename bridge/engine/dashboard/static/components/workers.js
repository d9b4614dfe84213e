// Workers: the live workers of the namespace, what they serve and when they last reported.

import { api, h, table, fmtAgo, fmtTime, errorBox } from "../lib.js";

function names(text) {
  try {
    const list = JSON.parse(text || "[]");
    return Array.isArray(list) && list.length ? list.join(", ") : "—";
  } catch { return text; }
}

export function mount(root) {
  const list = h("div", { id: "workers" });
  root.append(h("h1", {}, "Workers"), h("section", { class: "panel" }, list));
  return {
    everyMs: 5000,
    wants: () => false,
    async refresh() {
      const workers = await api("GET", "/workers", { namespace: true });
      list.replaceChildren(table(["Identity", "Queue", "Workflows", "Activities", "Active tasks", "Last heartbeat", "Registered"],
        workers.map((w) => ({ attrs: { "data-id": w.id }, cells: [
          h("span", { class: "mono", title: w.id }, w.identity), w.task_queue, names(w.workflows), names(w.activities),
          String(w.active_tasks), fmtAgo(w.last_heartbeat), fmtTime(w.registered_at)] })),
        "No live workers in this namespace.", { id: "worker-table" }));
    },
    showError(err) { list.replaceChildren(errorBox(err)); },
  };
}
