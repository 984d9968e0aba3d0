// The composer: the text box and its counter, sending (with optimistic bubbles that are
// resent after a reconnect), asking for a person, and our own typing events.

import { h, charCount } from "../shared/dom.js";
import { uuid } from "../shared/ids.js";
import { socket, sendRaw, connect } from "./connection.js";
import { updateChrome, scrollToBottom } from "./panel.js";
import { S, t, ui, fmt, MAX_CHARS, COUNTER_FROM, TYPING_REPEAT_MS, TYPING_IDLE_MS } from "./state.js";

export function updateComposer() {
  if (!ui) return;
  const text = ui.input.value;
  const n = charCount(text);
  const closed = S.conversationState === "closed";
  ui.send.disabled = closed || text.trim() === "" || n > MAX_CHARS;
  ui.counter.hidden = n < COUNTER_FROM;
  ui.counter.textContent = t.counter(fmt(n), fmt(MAX_CHARS));
  ui.counter.setAttribute("data-over", String(n > MAX_CHARS));
  // Grow with the text up to max-height, then scroll.
  ui.input.style.height = "auto";
  ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 140) + "px";
}

export function submit() {
  const text = ui.input.value;
  if (ui.send.disabled || text.trim() === "" || charCount(text) > MAX_CHARS) return;
  const clientId = uuid();
  const node = h("div", {
    class: "kk-msg", "data-testid": "message", "data-role": "customer", "data-kind": "text",
    "data-status": "sending", "data-client-id": clientId,
  }, [h("span", { class: "kk-sr", text: t.you + ": " }), h("div", { class: "kk-bubble", text })]);
  node.appendChild(h("div", { class: "kk-status", text: socket.connected ? t.sending : t.queued }));
  S.pending.set(clientId, { text, el: node, failed: false });
  ui.log.appendChild(node);
  ui.empty.hidden = true;
  ui.input.value = "";
  updateComposer();
  stopTyping();
  if (socket.connected) sendMessage(clientId);
  else connect(); // no-op if a reconnect is already under way
  scrollToBottom(true);
  ui.input.focus();
}

export function sendMessage(clientId) {
  const p = S.pending.get(clientId);
  if (!p) return;
  const ok = sendRaw({ type: "message", client_id: clientId, text: p.text });
  setStatus(p.el, ok ? t.sending : t.queued);
}

function setStatus(node, text) {
  let status = node.querySelector(".kk-status");
  if (!status) {
    status = h("div", { class: "kk-status" });
    node.appendChild(status);
  }
  status.textContent = text;
}

// The server refused a message for now (too many at once, or storage briefly away) and
// said when to send it again: the widget waits that long and sends it again by itself,
// a few times, before showing it as not sent.
const MAX_AUTO_RETRIES = 5;

export function retryLater(clientId, seconds) {
  const p = S.pending.get(clientId);
  if (!p || p.failed) return false;
  p.retries = (p.retries || 0) + 1;
  if (p.retries > MAX_AUTO_RETRIES) return false;
  const wait = Math.max(1, Math.min(300, Math.ceil(seconds)));
  p.el.setAttribute("data-status", "retrying");
  setStatus(p.el, t.retrying(wait));
  setTimeout(() => {
    if (!S.pending.has(clientId) || p.failed) return;
    p.el.setAttribute("data-status", "sending");
    if (socket.connected) sendMessage(clientId);
    else setStatus(p.el, t.queued); // the reconnect's welcome sends it
  }, wait * 1000 + Math.floor(Math.random() * 250)); // jitter: not all at the same instant
  return true;
}

export function markFailed(clientId, message) {
  const p = S.pending.get(clientId);
  if (!p) return;
  p.failed = true;
  p.el.setAttribute("data-status", "failed");
  const status = h("div", { class: "kk-status", role: "alert" });
  status.appendChild(h("span", { text: t.failed + ": " + message }));
  const retry = h("button", { type: "button", "data-testid": "retry", text: t.retry });
  retry.addEventListener("click", () => {
    p.failed = false;
    p.el.setAttribute("data-status", "sending");
    status.remove();
    if (socket.connected) sendMessage(clientId); // same client_id: the server won't store it twice
    else setStatus(p.el, t.queued);
  });
  status.appendChild(retry);
  const old = p.el.querySelector(".kk-status");
  if (old) old.remove();
  p.el.appendChild(status);
}

export function requestHandoff() {
  if (!socket.connected || S.handoffRequested) return;
  if (sendRaw({ type: "handoff_request" })) {
    S.handoffRequested = true; // disabled until the `state` event arrives
    updateChrome();
  }
}
// Our own typing events: true at most every 3 s while typing, false after 4 s idle.
export function noteTyping() {
  if (!socket.connected) return;
  if (ui.input.value === "") {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (!S.typingActive || now - S.typingSentAt >= TYPING_REPEAT_MS) {
    if (sendRaw({ type: "typing", typing: true })) {
      S.typingActive = true;
      S.typingSentAt = now;
    }
  }
  clearTimeout(S.typingIdleTimer);
  S.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

export function stopTyping() {
  clearTimeout(S.typingIdleTimer);
  if (S.typingActive) {
    S.typingActive = false;
    sendRaw({ type: "typing", typing: false });
  }
}
