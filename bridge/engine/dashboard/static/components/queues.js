// Queues: per task queue, the activities waiting and running and the live workers on it.

import { api, h, table, errorBox } from "../lib.js";

export function mount(root) {
  const list = h("div", { id: "queues" });
  root.append(h("h1", {}, "Queues"), h("section", { class: "panel" }, list));
  return {
    everyMs: 5000,
    async refresh() {
      const queues = await api("GET", "/queues", { namespace: true });
      list.replaceChildren(table(["Queue", "Pending activities", "Running activities", "Live workers"],
        queues.map((q) => ({ attrs: { "data-queue": q.queue }, cells: [
          q.queue, String(q.pending_activities), String(q.running_activities), String(q.workers)] })),
        "No queues in this namespace.", { id: "queue-table" }));
    },
    showError(err) { list.replaceChildren(errorBox(err)); },
  };
}
