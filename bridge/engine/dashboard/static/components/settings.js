// Settings: the engine's version, the namespace in use, and forgetting the key of this tab.

import { api, h, session, errorBox } from "../lib.js";

export function mount(root) {
  const info = h("div", { id: "settings" });
  const forget = h("button", { id: "forget-key", onclick: () => { session.clearToken(); location.reload(); } },
    "Forget the key");
  root.append(h("h1", {}, "Settings"), h("section", { class: "panel" }, info), forget);
  return {
    wants: () => false,
    async refresh() {
      const version = await api("GET", "/version");
      forget.disabled = !session.token();
      info.replaceChildren(h("dl", { class: "facts" },
        h("dt", {}, "Engine"), h("dd", {}, `${version.service} ${version.version} (assay ${version.assay_compat})`),
        h("dt", {}, "Namespace"), h("dd", {}, session.namespace()),
        h("dt", {}, "Key"), h("dd", {}, session.token() ? "kept for this tab (sessionStorage)" : "none")));
    },
    showError(err) { info.replaceChildren(errorBox(err)); },
  };
}
