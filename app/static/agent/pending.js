// Replies sent but not yet echoed by the server: shown at the end of the transcript,
// resent after a reconnect (same client_id, so never stored twice), retried or discarded.

import { h, clear } from "../shared/dom.js";
import { send, socket } from "./connection.js";
import { $, S, t, PENDING_TIMEOUT_MS } from "./state.js";

export function pendingNode(clientId, p) {
  const li = h("li", {
    class: "kk-msg kk-msg--agent kk-msg--pending",
    "data-testid": "message",
    "data-role": "agent",
    "data-pending": "true",
    "data-client-id": clientId,
  }, [
    h("div", { class: "kk-msg-head" }, [h("span", { class: "kk-msg-author", text: S.me.name || t.roles.agent })]),
    h("div", { class: "kk-msg-body kk-plain", text: p.text }),
    h("div", { class: "kk-msg-foot" }, [h("span", { class: "kk-msg-status", "data-role": "status" })]),
  ]);
  updatePendingNode(li, p);
  return li;
}

export function updatePendingNode(li, p) {
  const status = $("[data-role='status']", li);
  clear(status);
  li.classList.toggle("kk-msg--failed", !!p.failed);
  if (p.failed) {
    status.appendChild(h("span", { text: t.notSent }));
    const clientId = li.getAttribute("data-client-id");
    status.appendChild(h("button", {
      type: "button",
      class: "kk-link-btn",
      text: t.retry,
      onclick: () => {
        p.failed = false;
        updatePendingNode(li, p);
        transmitPending(clientId);
      },
    }));
    status.appendChild(h("button", {
      type: "button",
      class: "kk-link-btn",
      text: t.discard,
      onclick: () => {
        clearTimeout(p.timer);
        S.pending.delete(clientId);
        li.remove();
      },
    }));
  } else {
    status.textContent = socket.connected ? t.sending : t.queuedSend;
  }
}

export function transmitPending(clientId) {
  const p = S.pending.get(clientId);
  if (!p) return;
  if (send({ type: "message", conversation_id: p.conversationId, client_id: clientId, text: p.text })) {
    p.sentAt = Date.now();
    // No echo while connected: show it as not sent so the agent can retry.
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      if (S.pending.get(clientId) === p && socket.connected && !p.failed) markPendingFailed(clientId);
    }, PENDING_TIMEOUT_MS);
  }
  if (p.node) updatePendingNode(p.node, p);
}

export function refreshPending() {
  S.pending.forEach((p) => {
    if (p.node) updatePendingNode(p.node, p);
  });
}

export function markPendingFailed(clientId) {
  const p = S.pending.get(clientId);
  if (!p) return;
  clearTimeout(p.timer);
  p.failed = true;
  if (p.node) updatePendingNode(p.node, p);
}
