// The canned responses' filter and the dialogs: transfer to another agent, close with an
// outcome and tags.

import { h, clear } from "../shared/dom.js";
import { send } from "./connection.js";
import { stopTyping } from "./composer.js";
import { E, S, root, t } from "./state.js";

export function filterCanned() {
  const q = E.cannedFilter.value.trim().toLowerCase();
  let shown = 0;
  Array.from(E.cannedList.children).forEach((li) => {
    const hay = `${li.textContent} ${li.getAttribute("data-lang") || ""}`.toLowerCase();
    const match = !q || hay.indexOf(q) >= 0;
    li.hidden = !match;
    if (match) shown += 1;
  });
  E.cannedEmpty.hidden = shown > 0 || E.cannedList.children.length === 0;
}

// ---- Dialogs ---------------------------------------------------------------------------------------

function makeDialog(testid, title) {
  const titleId = `kk-${testid}-title`;
  const dialog = h("dialog", { class: "kk-dialog", "data-testid": testid, "aria-labelledby": titleId });
  const form = h("form", { method: "dialog", class: "kk-dialog-form" });
  form.appendChild(h("h2", { class: "kk-h2", id: titleId, text: title }));
  dialog.appendChild(form);
  root.appendChild(dialog);
  return { dialog, form };
}

function showDialog(dialog, opener) {
  dialog._kkOpener = opener;
  if (typeof dialog.showModal === "function") {
    try {
      dialog.showModal();
      return;
    } catch (err) {
      /* already open */
    }
  }
  dialog.setAttribute("open", "");
}

function hideDialog(dialog) {
  if (typeof dialog.close === "function" && dialog.open) dialog.close();
  else dialog.removeAttribute("open");
}

function wireDialogFocus(dialog) {
  dialog.addEventListener("close", () => {
    const opener = dialog._kkOpener;
    if (opener && !opener.disabled) opener.focus();
    else E.composer.focus();
  });
}

let transferUi, transferSelect, transferNone, transferConfirm, closeUi, tagsInput;

/** Build both dialogs (once, at start-up). */
export function buildDialogs() {
  // Transfer.
  transferUi = makeDialog("transfer-dialog", t.transferTitle);
  transferSelect = h("select", { id: "kk-transfer-to", class: "kk-input", "data-testid": "transfer-select" });
  transferNone = h("p", { class: "kk-empty", text: t.transferNone, hidden: true });
  transferConfirm = h("button", { type: "submit", class: "kk-btn kk-btn--primary", "data-testid": "transfer-confirm", text: t.transfer });
  transferUi.form.appendChild(h("div", { class: "kk-field" }, [h("label", { for: "kk-transfer-to", text: t.transferTo }), transferSelect]));
  transferUi.form.appendChild(transferNone);
  transferUi.form.appendChild(h("div", { class: "kk-dialog-actions" }, [
    h("button", { type: "button", class: "kk-btn", "data-testid": "transfer-cancel", text: t.cancel, onclick: () => hideDialog(transferUi.dialog) }),
    transferConfirm,
  ]));
  transferUi.form.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = transferSelect.value;
    if (!value || !S.conv) return;
    const to = /^\d+$/.test(value) ? Number(value) : value;
    stopTyping();
    send({ type: "transfer", conversation_id: S.conv.id, to_user_id: to });
    hideDialog(transferUi.dialog);
  });
  wireDialogFocus(transferUi.dialog);
  // Close.
  closeUi = makeDialog("close-dialog", t.closeTitle);
  const outcomeSet = h("fieldset", { class: "kk-fieldset" }, [h("legend", { text: t.outcome })]);
  ["resolved", "not_resolved"].forEach((value, i) => {
    const id = `kk-outcome-${value}`;
    outcomeSet.appendChild(h("div", { class: "kk-radio" }, [
      h("input", {
        type: "radio",
        name: "outcome",
        id,
        value,
        checked: i === 0,
        "data-testid": `close-outcome-${value.replace("_", "-")}`,
      }),
      h("label", { for: id, text: t.outcomes[value] }),
    ]));
  });
  tagsInput = h("input", {
    type: "text",
    id: "kk-close-tags",
    class: "kk-input",
    "data-testid": "close-tags",
    autocomplete: "off",
    "aria-describedby": "kk-close-tags-hint",
  });
  closeUi.form.appendChild(outcomeSet);
  closeUi.form.appendChild(h("div", { class: "kk-field" }, [
    h("label", { for: "kk-close-tags", text: t.tags }),
    tagsInput,
    h("p", { class: "kk-hint", id: "kk-close-tags-hint", text: t.tagsHint }),
  ]));
  closeUi.form.appendChild(h("div", { class: "kk-dialog-actions" }, [
    h("button", { type: "button", class: "kk-btn", "data-testid": "close-cancel", text: t.cancel, onclick: () => hideDialog(closeUi.dialog) }),
    h("button", { type: "submit", class: "kk-btn kk-btn--danger", "data-testid": "close-confirm", text: t.confirmClose }),
  ]));
  closeUi.form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!S.conv) return;
    const checked = closeUi.form.querySelector("input[name='outcome']:checked");
    const outcome = checked ? checked.value : "resolved";
    const tags = [];
    tagsInput.value.split(/[,、，]/).forEach((raw) => {
      const tag = raw.trim();
      if (tag && tags.indexOf(tag) < 0) tags.push(tag);
    });
    stopTyping();
    if (send({ type: "close", conversation_id: S.conv.id, outcome, tags })) {
      S.closing = { id: S.conv.id, outcome, tags }; // shown once the `state` event says closed
    }
    hideDialog(closeUi.dialog);
  });
  wireDialogFocus(closeUi.dialog);
}

export function openTransfer() {
  if (!S.conv) return;
  clear(transferSelect);
  const others = S.queue.agents.filter((a) =>
    a.presence === "online" && !(S.me.id !== null && String(a.id) === String(S.me.id)));
  others.forEach((a) => {
    const label = (a.display_name || String(a.id)) +
      (typeof a.open_chats === "number" ? ` (${t.openChats(a.open_chats)})` : "");
    transferSelect.appendChild(h("option", { value: String(a.id), text: label }));
  });
  transferSelect.disabled = others.length === 0;
  transferConfirm.disabled = others.length === 0;
  transferNone.hidden = others.length > 0;
  showDialog(transferUi.dialog, E.transfer);
  (others.length ? transferSelect : transferUi.dialog.querySelector("[data-testid='transfer-cancel']")).focus();
}

export function openClose() {
  if (!S.conv) return;
  closeUi.form.reset();
  const first = closeUi.form.querySelector("input[value='resolved']");
  if (first) first.checked = true;
  tagsInput.value = "";
  showDialog(closeUi.dialog, E.close);
  if (first) first.focus();
}
