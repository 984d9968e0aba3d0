// The connection to /ws/chat (docs/protocol.md) and the server's events.

import { ReconnectingSocket } from "../shared/socket.js";
import { renderMessage, resetTranscript, setFeedback, onPeerTyping, hidePeerTyping } from "./messages.js";
import { markFailed, retryLater, sendMessage } from "./composer.js";
import { setConversationState, renderCsat, onRated } from "./ending.js";
import { updateChrome } from "./panel.js";
import { S, t, warn, wsUrl, saveStored, lang } from "./state.js";

export let socket = null;

/** The socket to the server the widget came from; it connects when asked to. */
export function createSocket() {
  socket = new ReconnectingSocket(wsUrl, {
    onOpen: sendHello,
    events: EVENTS,
    onClose: () => {
      S.typingActive = false;
      hidePeerTyping();
      updateChrome();
    },
    onChange: updateChrome,
    warn,
  });
}

export const sendRaw = (event) => socket.send(event);

export function connect() {
  socket.connect(); // no-op while connecting or connected
}

function sendHello() {
  const hello = { type: "hello", token: S.token, last_seq: S.lastSeq, lang };
  if (S.resume) hello.resume = S.resume; // the server answers with that chat and a new token
  sendRaw(hello);
}

// ---- Server events -----------------------------------------------------------------------

const EVENTS = {
  welcome: onWelcome,
  message: renderMessage,
  typing: onPeerTyping,
  state: setConversationState,
  feedback: (ev) => {
    if (typeof ev.seq === "number") setFeedback(ev.seq, ev.helpful, true);
  },
  rated: onRated,
  error: onError,
};

function onWelcome(ev) {
  socket.welcomed();
  if (typeof ev.token === "string") S.token = ev.token;
  if (S.resume) {
    S.resumed = S.resume;
    S.resume = null;
  }
  if (typeof ev.state === "string") S.conversationState = ev.state;
  if (typeof ev.conversation_id === "string") S.conversationId = ev.conversation_id;
  S.attaching = ev.attachments && typeof ev.attachments === "object" ? ev.attachments : null;
  saveStored();
  updateChrome();
  // Everything typed while offline, and anything sent but never echoed, goes (again)
  // now. The server de-duplicates by client_id, so a resend can't create a copy.
  S.pending.forEach((p, clientId) => {
    if (!p.failed) sendMessage(clientId);
  });
}

function onError(ev) {
  const code = ev.code || "";
  if (code === "invalid_token") {
    // The stored conversation is gone (e.g. server data reset): start a new one.
    S.token = null;
    if (S.resume) S.resumed = S.resume; // a link that names no chat: not followed again
    S.resume = null;
    resetTranscript(false);
    saveStored();
    sendHello();
    return;
  }
  if (code === "hello_required") {
    sendHello();
    return;
  }
  const later = (code === "rate_limited" || code === "unavailable") && Number.isFinite(ev.retry_after);
  if (later && ev.client_id && retryLater(ev.client_id, ev.retry_after)) return;
  if (ev.client_id && S.pending.has(ev.client_id)) {
    const known = Object.prototype.hasOwnProperty.call(t.errors, code) ? t.errors[code] : null;
    markFailed(ev.client_id, known || (typeof ev.message === "string" && ev.message) || code || t.failed);
  } else {
    warn("server error", code, ev.message);
  }
  if (code === "conversation_closed") setConversationState({ state: "closed" });
  if (code === "rating_closed" && S.csat) {
    S.csat.open = false;
    renderCsat();
  }
  if (S.handoffRequested) {
    S.handoffRequested = false;
    updateChrome();
  }
}
