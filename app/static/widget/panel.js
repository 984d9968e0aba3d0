// Opening and closing the panel, the unread badge, and the chrome: banners and buttons
// that follow the connection and the conversation's state.

import { connect, socket } from "./connection.js";
import { updateComposer } from "./composer.js";
import { attachState } from "./upload.js";
import { closeViewer } from "./files.js";
import { CHAT_ICON, CLOSE_ICON } from "./styles.js";
import { S, t, ui } from "./state.js";

let pendingOpen = false; // Kakehashi.open() called before the panel was built

export function openPanel() {
  if (!ui) {
    pendingOpen = true;
    return;
  }
  S.open = true;
  ui.panel.hidden = false;
  ui.launcher.setAttribute("aria-expanded", "true");
  ui.launcher.innerHTML = CLOSE_ICON;
  ui.launcher.appendChild(ui.badge);
  S.unread = 0;
  updateBadge();
  connect(); // first-time visitors connect only now, so page views don't create conversations
  updateChrome();
  scrollToBottom(true);
  // After the panel is laid out, or focus() is ignored.
  window.requestAnimationFrame(() => {
    if (S.open) ui.input.focus();
  });
}

export function closePanel(returnFocus) {
  if (!ui || !S.open) return;
  S.open = false;
  closeViewer(false);
  ui.panel.hidden = true;
  ui.launcher.setAttribute("aria-expanded", "false");
  ui.launcher.innerHTML = CHAT_ICON;
  ui.launcher.appendChild(ui.badge);
  updateBadge();
  if (returnFocus) ui.launcher.focus();
}

export function updateBadge() {
  if (!ui) return;
  ui.badge.hidden = S.unread === 0 || S.open;
  ui.badge.textContent = S.unread > 9 ? "9+" : String(S.unread);
  // The label stays "Open chat" while open (aria-expanded carries the state), as the
  // ARIA disclosure pattern asks; it only mentions unread messages.
  ui.launcher.setAttribute("aria-label", S.unread && !S.open ? t.openUnread(S.unread) : t.open);
}

/** Open the panel if the page asked for it before the widget was built. */
export function openIfRequested() {
  if (pendingOpen) openPanel();
}

export function updateChrome() {
  if (!ui) return;
  const st = S.conversationState;
  const offline = !socket.connected && (socket.ws !== null || socket.reconnectTimer !== null || socket.everConnected);
  ui.connBanner.hidden = !offline;
  ui.connBanner.textContent = socket.everConnected || socket.attempt > 0 ? t.reconnecting : t.connecting;
  ui.handoff.hidden = st === "waiting" || st === "agent" || st === "closed";
  ui.handoff.disabled = !socket.connected || S.handoffRequested;
  // Ending makes sense once something has been said; it asks for confirmation first.
  ui.endBtn.hidden = !(st === "bot" || st === "waiting" || st === "agent") || S.bySeq.size === 0;
  ui.endBtn.disabled = !socket.connected;
  if (ui.endBtn.hidden) ui.endConfirm.hidden = true;
  ui.input.disabled = st === "closed";
  const attach = attachState();
  ui.attach.hidden = !attach.offered;
  ui.attach.disabled = !attach.enabled;
  ui.fileInput.setAttribute("accept", attach.accept);
  ui.empty.hidden = ui.log.children.length > 0;
  updateComposer();
}

/** Whether the customer is reading the end of the conversation (ask before adding to it). */
export function atBottom() {
  if (!ui) return false;
  const b = ui.body;
  return b.scrollHeight - b.scrollTop - b.clientHeight < 120;
}

export function scrollToBottom(force) {
  if (!ui) return;
  if (force || atBottom()) ui.body.scrollTop = ui.body.scrollHeight;
}
