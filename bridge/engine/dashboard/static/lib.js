// Shared by every page: the API client (with the Bearer token), DOM building, formatting and
// the confirmation dialog. Values from the engine only ever reach the page as text nodes.

const TOKEN_KEY = "assay-bridge.token";
const NAMESPACE_KEY = "assay-bridge.namespace";

/** The token lives in sessionStorage (this tab only); the namespace choice in localStorage. */
export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY) || "",
  setToken: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clearToken: () => sessionStorage.removeItem(TOKEN_KEY),
  namespace: () => localStorage.getItem(NAMESPACE_KEY) || "main",
  setNamespace: (ns) => localStorage.setItem(NAMESPACE_KEY, ns),
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};
/** Called with the engine's message whenever a call is answered 401. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function authHeaders() {
  const token = session.token();
  return token ? { Authorization: "Bearer " + token } : {};
}

/**
 * One call of the engine API. `namespace: true` adds ?namespace=<current>; `query` adds the
 * other parameters (empty ones left out). Resolves to the parsed body (null when empty);
 * rejects with ApiError carrying the engine's {"error"} text.
 */
export async function api(method, path, { body, query, namespace = false } = {}) {
  const url = new URL("/api/v1" + path, location.origin);
  if (namespace) url.searchParams.set("namespace", session.namespace());
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  const init = { method, headers: authHeaders(), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(url, init);
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!resp.ok) {
    const message = (data && data.error) || resp.statusText || "HTTP " + resp.status;
    if (resp.status === 401) onUnauthorized(message);
    throw new ApiError(resp.status, message);
  }
  return data;
}

/** h("a", {href, class, onclick}, ...children): an element; strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const workflowPath = (id) => "/workflow/workflows/" + encodeURIComponent(id);
export const workflowLink = (id) => h("a", { href: workflowPath(id), class: "mono" }, id);
export const statusBadge = (status) => h("span", { class: "status " + status }, status);

export function fmtTime(epochS) {
  if (epochS === null || epochS === undefined) return "—";
  return new Date(epochS * 1000).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
  const s = Math.max(0, seconds);
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
  if (s < 3600) return Math.floor(s / 60) + "m " + Math.floor(s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}

export const fmtAgo = (epochS) => (epochS ? fmtDuration(Date.now() / 1000 - epochS) + " ago" : "—");

/** JSON text (as records carry it) or a value, pretty-printed. */
export function pretty(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; }
  }
  return JSON.stringify(value, null, 2);
}

/** The text of a textarea as a JSON value: empty means null; bad JSON throws a readable error. */
export function parseJsonField(text, what) {
  if (!text.trim()) return null;
  try { return JSON.parse(text); } catch (err) {
    throw new Error(what + " is not valid JSON: " + err.message);
  }
}

/** A table: heads are column titles, rows are arrays of cells (or {attrs, cells}). */
export function table(heads, rows, empty, attrs) {
  const body = rows.length
    ? rows.map((row) => {
        const { attrs: rowAttrs, cells } = Array.isArray(row) ? { attrs: {}, cells: row } : row;
        return h("tr", rowAttrs, cells.map((c) => h("td", {}, c)));
      })
    : [h("tr", {}, h("td", { colspan: heads.length, class: "muted" }, empty))];
  return h("table", attrs, h("thead", {}, h("tr", {}, heads.map((t) => h("th", {}, t)))), h("tbody", {}, body));
}

/**
 * Opens the confirmation dialog. `body` holds the nodes to show (inputs included); `action`
 * runs on Confirm: if it throws, the error shows and the dialog stays open.
 */
export function confirmDialog({ title, body = [], ok = "Confirm", danger = false, action }) {
  const dialog = document.getElementById("confirm");
  const form = document.getElementById("confirm-form");
  const error = document.getElementById("confirm-error");
  const okButton = document.getElementById("confirm-ok");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-body").replaceChildren(...body);
  okButton.textContent = ok;
  okButton.className = danger ? "danger" : "primary";
  okButton.disabled = false;
  error.hidden = true;
  form.onsubmit = async (event) => {
    event.preventDefault();
    okButton.disabled = true;
    try {
      await action();
      dialog.close();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      okButton.disabled = false;
    }
  };
  document.getElementById("confirm-cancel").onclick = () => dialog.close();
  dialog.showModal();
}

let toastTimer = null;
export function toast(message) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3000);
}

/** Shows an error in place of a page's data. */
export const errorBox = (err) => h("p", { class: "error" }, err.message || String(err));
