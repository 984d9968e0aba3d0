// The shell's texts from the catalogue, and toasts (errors and notices that go away).

import { h } from "../shared/dom.js";
import { E, S, root, t, TOAST_MS } from "./state.js";

export function applyStrings() {
  root.querySelectorAll("[data-i18n]").forEach((node) => {
    const value = t[node.getAttribute("data-i18n")];
    if (typeof value === "string") node.textContent = value;
  });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
    const value = t[node.getAttribute("data-i18n-placeholder")];
    if (typeof value === "string") node.setAttribute("placeholder", value);
  });
  root.querySelectorAll("[data-i18n-aria-label]").forEach((node) => {
    const value = t[node.getAttribute("data-i18n-aria-label")];
    if (typeof value === "string") node.setAttribute("aria-label", value);
  });
  E.hint.textContent = t.hint;
}

// ---- Toasts ----------------------------------------------------------------------------------

export function toast(message, code) {
  if (!message) return;
  // The same message again (e.g. a double click) refreshes the existing toast.
  const existing = Array.from(E.toasts.children).find((n) => n.getAttribute("data-message") === message);
  if (existing) existing.remove();
  const node = h("div", {
    class: "kk-toast",
    role: "alert",
    "data-testid": "toast",
    "data-code": code || null,
    "data-message": message,
  });
  const text = h("span", { class: "kk-toast-text", text: message });
  const dismiss = h("button", {
    type: "button",
    class: "kk-toast-close",
    "aria-label": t.dismiss,
    title: t.dismiss,
    "data-testid": "toast-dismiss",
    text: "×",
  });
  let timer = null;
  const remove = () => {
    clearTimeout(timer);
    node.remove();
  };
  dismiss.addEventListener("click", remove);
  node.appendChild(text);
  node.appendChild(dismiss);
  E.toasts.appendChild(node);
  while (E.toasts.children.length > 4) E.toasts.firstChild.remove();
  timer = setTimeout(remove, TOAST_MS);
}

export function errorText(ev) {
  const code = ev.code || "";
  const entry = t.errors[code];
  if (typeof entry === "function") return entry(S.maxOpen);
  if (typeof entry === "string") return entry;
  return ev.message || t.errorFallback(code);
}
