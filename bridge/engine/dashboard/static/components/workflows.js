// Workflows: the namespace's workflows, newest first, filtered by status, type and queue;
// a search box opens one workflow by id.

import { api, h, table, statusBadge, workflowLink, fmtTime, errorBox } from "../lib.js";

const STATUSES = ["PENDING", "RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"];
const PAGE = 100;

export function mount(root) {
  const params = new URLSearchParams(location.search);
  let limit = PAGE;
  const status = h("select", { id: "filter-status", name: "status" },
    h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s }, s)));
  status.value = params.get("status") || "";
  const type = h("input", { id: "filter-type", name: "type", placeholder: "any type", value: params.get("type") || "" });
  const queue = h("input", { id: "filter-queue", name: "queue", placeholder: "any queue", value: params.get("queue") || "" });
  const search = h("input", { id: "search-id", name: "id", placeholder: "workflow id", required: true });
  const results = h("div", { id: "workflows" });
  const note = h("p", { class: "muted" });
  const more = h("button", { type: "button", id: "more", onclick: () => { limit += PAGE; view.refresh(); } }, "Show more");

  function applyFilters(event) {
    if (event) event.preventDefault();
    const q = new URLSearchParams();
    if (status.value) q.set("status", status.value);
    if (type.value.trim()) q.set("type", type.value.trim());
    if (queue.value.trim()) q.set("queue", queue.value.trim());
    history.replaceState(null, "", "/workflow/" + (q.toString() ? "?" + q : ""));
    limit = PAGE;
    view.refresh();
  }
  status.addEventListener("change", applyFilters);

  root.append(
    h("h1", {}, "Workflows"),
    h("div", { class: "toolbar" },
      h("form", { class: "filters", onsubmit: applyFilters },
        h("label", {}, "Status", status), h("label", {}, "Type", type), h("label", {}, "Queue", queue),
        h("button", { type: "submit" }, "Filter")),
      h("form", { class: "filters", onsubmit: (event) => {
        event.preventDefault();
        document.dispatchEvent(new CustomEvent("navigate", { detail: "/workflow/workflows/" + encodeURIComponent(search.value.trim()) }));
      } }, h("label", {}, "Open by id", search), h("button", { type: "submit" }, "Open"))),
    h("section", { class: "panel" }, results, note, more));

  const view = {
    async refresh() {
      const list = await api("GET", "/workflows", { namespace: true,
        query: { status: status.value, type: type.value.trim(), limit } });
      const wanted = queue.value.trim();
      const shown = wanted ? list.filter((w) => w.task_queue === wanted) : list;
      results.replaceChildren(table(["Id", "Type", "Status", "Queue", "Created", "Finished"],
        shown.map((w) => ({ attrs: { "data-id": w.id }, cells: [
          workflowLink(w.id), w.workflow_type, statusBadge(w.status), w.task_queue,
          fmtTime(w.created_at), fmtTime(w.completed_at)] })),
        "No workflows match.", { id: "workflow-table" }));
      note.textContent = wanted ? `Queue filter applied to the ${list.length} newest matching workflows.` : "";
      more.hidden = list.length < limit;
    },
    showError(err) { results.replaceChildren(errorBox(err)); },
  };
  return view;
}
