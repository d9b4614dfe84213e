// The dashboard's entry point: routing between pages, the sign-in dialog, the namespace choice
// and the live event stream. Pages live in components/; each exports mount(root, params),
// returning { refresh(), wants?(event), everyMs?, dispose?() }.

import { api, authHeaders, h, session, setUnauthorizedHandler, errorBox } from "./lib.js";
import * as workflows from "./components/workflows.js";
import * as detail from "./components/detail.js";
import * as schedules from "./components/schedules.js";
import * as workers from "./components/workers.js";
import * as queues from "./components/queues.js";
import * as settings from "./components/settings.js";

const PAGES = { "": workflows, schedules, workers, queues, settings };
const main = document.getElementById("main");
let view = null;
let timer = null;

function route(pathname) {
  const rest = pathname.replace(/^\/workflow\/?/, "");
  if (rest.startsWith("workflows/")) {
    return { page: detail, nav: "workflows", params: { id: decodeURIComponent(rest.slice("workflows/".length)) } };
  }
  const page = PAGES[rest] || workflows;
  return { page, nav: rest || "workflows", params: {} };
}

async function render() {
  if (view && view.dispose) view.dispose();
  clearInterval(timer);
  const { page, nav, params } = route(location.pathname);
  for (const a of document.querySelectorAll("[data-nav]")) a.classList.toggle("active", a.dataset.nav === nav);
  main.replaceChildren();
  view = page.mount(main, params);
  if (view.everyMs) timer = setInterval(refresh, view.everyMs);
  await refresh();
}

// Refreshes run one at a time; a request during one runs once more after it.
let refreshing = null;
let again = false;
async function refresh() {
  if (!view) return;
  if (refreshing) { again = true; return refreshing; }
  const current = view;
  refreshing = (async () => {
    do {
      again = false;
      try { await current.refresh(); } catch (err) { if (current.showError) current.showError(err); else console.error(err); }
    } while (again && current === view);
  })();
  try { await refreshing; } finally { refreshing = null; }
}

let pending = null;
function refreshSoon() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; refresh(); }, 100);
}

export function navigate(path) {
  history.pushState(null, "", path);
  render();
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/workflow/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", render);
document.addEventListener("navigate", (event) => navigate(event.detail));

// --- sign-in -------------------------------------------------------------------------------

const login = document.getElementById("login");
setUnauthorizedHandler((message) => {
  session.clearToken();
  stream.stop();
  const error = document.getElementById("login-error");
  error.textContent = message;
  error.hidden = false;
  if (!login.open) login.showModal();
  document.getElementById("login-token").focus();
});
login.addEventListener("cancel", (event) => event.preventDefault());
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("login-token");
  session.setToken(input.value.trim());
  input.value = "";
  login.close();
  await start();
});

// --- namespaces ----------------------------------------------------------------------------

const nsSelect = document.getElementById("namespace");
nsSelect.addEventListener("change", () => {
  session.setNamespace(nsSelect.value);
  render();
});

async function loadNamespaces() {
  const list = await api("GET", "/namespaces");
  const names = list.map((n) => n.name);
  if (!names.includes(session.namespace())) names.unshift(session.namespace());
  nsSelect.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
  nsSelect.value = session.namespace();
}

// --- live updates --------------------------------------------------------------------------
// EventSource cannot send an Authorization header, and a token in the URL would end up in
// access logs, so the stream is read with fetch() and parsed here.

const live = document.getElementById("live");
function setLive(state) {
  live.dataset.state = state;
  live.textContent = state;
}

const stream = {
  controller: null,
  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    setLive("offline");
  },
  start() {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    this.loop(controller.signal);
  },
  async loop(signal) {
    let backoffMs = 500;
    while (!signal.aborted) {
      setLive("connecting");
      try {
        const resp = await fetch("/api/v1/events/stream", { headers: authHeaders(), signal, cache: "no-store" });
        if (resp.status === 401) {
          await api("GET", "/events/stream").catch(() => {}); // raises the sign-in dialog
          return;
        }
        if (!resp.ok || !resp.body) throw new Error("stream answered " + resp.status);
        await readEvents(resp.body, signal, () => { backoffMs = 500; setLive("live"); refreshSoon(); });
      } catch (err) {
        if (signal.aborted) return;
      }
      setLive("offline");
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 10000);
    }
  },
};

async function readEvents(body, signal, onConnected) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      handleBlock(block, onConnected);
    }
  }
}

function handleBlock(block, onConnected) {
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      if (line.slice(1).trim() === "connected") onConnected();
    } else if (line.startsWith("data:")) {
      data.push(line.slice(5).replace(/^ /, ""));
    }
  }
  if (!data.length) return;
  let event;
  try { event = JSON.parse(data.join("\n")); } catch { return; }
  if (view && (!view.wants || view.wants(event))) refreshSoon();
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  try {
    await loadNamespaces();
  } catch (err) {
    if (err.status === 401) return; // the sign-in dialog is open; start() runs again after it
    main.replaceChildren(errorBox(err));
    return;
  }
  stream.start();
  await render();
}

start();
