// The composer (a reply to the customer or an internal note, drafts per conversation) and
// typing indicators both ways.

import { charCount } from "../shared/dom.js";
import { uuid } from "../shared/ids.js";
import { send, socket } from "./connection.js";
import { toast } from "./toasts.js";
import { canReply } from "./labels.js";
import { scrollToBottom } from "./transcript.js";
import { pendingNode, transmitPending } from "./pending.js";
import { E, S, t, MAX_TEXT, TYPING_RESEND_MS, TYPING_IDLE_MS, PEER_TYPING_TIMEOUT_MS } from "./state.js";

export function onPeerTyping(ev) {
  if (ev.conversation_id !== S.openId) return;
  if (ev.role && ev.role !== "customer") return;
  if (ev.typing) {
    E.typing.hidden = false;
    clearTimeout(S.peerTypingTimer);
    S.peerTypingTimer = setTimeout(hidePeerTyping, PEER_TYPING_TIMEOUT_MS);
  } else {
    hidePeerTyping();
  }
}

export function hidePeerTyping() {
  clearTimeout(S.peerTypingTimer);
  S.peerTypingTimer = null;
  E.typing.hidden = true;
}

export function noteTyping() {
  if (S.mode !== "reply" || !canReply() || !socket.connected) return;
  if (!E.composer.value.trim()) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (!S.typing.active || S.typing.conversationId !== S.openId || now - S.typing.lastSent >= TYPING_RESEND_MS) {
    if (S.typing.active && S.typing.conversationId !== S.openId) stopTyping();
    if (send({ type: "typing", conversation_id: S.openId, typing: true })) {
      S.typing.active = true;
      S.typing.lastSent = now;
      S.typing.conversationId = S.openId;
    }
  }
  clearTimeout(S.typing.idle);
  S.typing.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

export function stopTyping() {
  clearTimeout(S.typing.idle);
  S.typing.idle = null;
  if (S.typing.active && S.typing.conversationId) {
    send({ type: "typing", conversation_id: S.typing.conversationId, typing: false });
  }
  S.typing.active = false;
  S.typing.lastSent = 0;
  S.typing.conversationId = null;
}

export function resetTypingState() {
  clearTimeout(S.typing.idle);
  S.typing = { active: false, lastSent: 0, idle: null, conversationId: null };
}

// ---- Composer ------------------------------------------------------------------------------------

export function setMode(mode, silent) {
  const next = mode === "note" ? "note" : "reply";
  if (next !== S.mode && next === "note") stopTyping(); // the customer must not see note-typing
  S.mode = next;
  E.form.setAttribute("data-mode", next);
  E.modeReply.setAttribute("aria-pressed", next === "reply" ? "true" : "false");
  E.modeNote.setAttribute("aria-pressed", next === "note" ? "true" : "false");
  if (!silent) {
    renderComposer();
    if (!E.composer.disabled) E.composer.focus();
  }
}

export function saveDraft() {
  if (!S.openId) return;
  const text = E.composer.value;
  if (text || S.mode === "note") S.drafts.set(S.openId, { text, mode: S.mode });
  else S.drafts.delete(S.openId);
}

export function updateCounter() {
  const n = charCount(E.composer.value);
  const show = n > MAX_TEXT * 0.9;
  E.counter.hidden = !show;
  if (show) E.counter.textContent = t.counter(n, MAX_TEXT);
  E.counter.classList.toggle("kk-counter--over", n > MAX_TEXT);
  return n;
}

export function submitComposer() {
  if (!S.conv) return;
  const text = E.composer.value.trim();
  if (!text) return;
  if (charCount(text) > MAX_TEXT) {
    toast(t.errors.text_too_long, "text_too_long");
    return;
  }
  if (S.mode === "note") {
    // Notes have no client_id to de-duplicate a resend, so they go only while connected.
    if (!send({ type: "note", conversation_id: S.conv.id, text })) {
      toast(t.notConnected, "not_connected");
      return;
    }
  } else {
    if (!canReply()) return;
    stopTyping();
    const clientId = uuid();
    const p = { conversationId: S.conv.id, text, node: null, failed: false, sentAt: 0, timer: null };
    S.pending.set(clientId, p);
    p.node = pendingNode(clientId, p);
    E.transcript.appendChild(p.node);
    transmitPending(clientId);
    scrollToBottom(true);
  }
  E.composer.value = "";
  S.drafts.delete(S.conv.id);
  updateCounter();
  renderComposer();
  E.composer.focus();
}

export function insertIntoComposer(snippet) {
  if (!S.conv) return;
  const current = E.composer.value.trimEnd();
  E.composer.value = current ? `${current}\n\n${snippet}` : snippet;
  saveDraft();
  updateCounter();
  renderComposer();
  if (!E.composer.disabled) {
    E.composer.focus();
    const end = E.composer.value.length;
    try {
      E.composer.setSelectionRange(end, end);
    } catch (err) {
      /* not focusable */
    }
    noteTyping();
  }
}

export function renderComposer() {
  const c = S.conv;
  const note = S.mode === "note";
  const reply = canReply();
  let placeholder;
  let enabled;
  if (!c) {
    enabled = false;
    placeholder = "";
  } else if (note) {
    enabled = true;
    placeholder = t.placeholderNote;
  } else if (!c.loaded) {
    enabled = false;
    placeholder = t.loading;
  } else if (c.state === "closed") {
    enabled = false;
    placeholder = t.placeholderClosed;
  } else if (reply) {
    enabled = true;
    placeholder = t.placeholderReply;
  } else if (c.state === "agent" && c.agent) {
    enabled = false;
    placeholder = t.placeholderNotMine;
  } else {
    enabled = false;
    placeholder = t.placeholderClaim;
  }
  E.composer.disabled = !enabled;
  E.composer.placeholder = placeholder;
  E.composerLabel.textContent = note ? t.modeNote : t.modeReply;
  E.send.textContent = note ? t.addNote : t.send;
  E.send.disabled = !enabled || !E.composer.value.trim() || charCount(E.composer.value) > MAX_TEXT;
  // files go to the customer only, from the agent who has the conversation
  E.attach.hidden = note;
  E.attach.disabled = !(c && !note && reply && c.loaded && c.state === "agent");
}
