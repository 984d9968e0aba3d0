// The connection to /ws/agent (docs/agent-protocol.md: same origin, session cookie) and
// the server's events.

import { ReconnectingSocket } from "../shared/socket.js";
import { toast, errorText } from "./toasts.js";
import { agentIsMe, isMine } from "./labels.js";
import { renderQueue, renderMine, renderAgents, renderPresence, clearClaimRequest } from "./queue.js";
import { openConversation, addMessage, addNote, nearBottom, scrollToBottom, setDelivery } from "./transcript.js";
import { transmitPending, refreshPending, markPendingFailed } from "./pending.js";
import { onPeerTyping, hidePeerTyping, stopTyping, resetTypingState, setMode } from "./composer.js";
import { renderConversation, renderContext } from "./context.js";
import { E, S, root, t, warn, SLA_RANK } from "./state.js";

export let socket = null;

/** The console's socket (not connected yet). */
export function createSocket() {
  const custom = root.getAttribute("data-ws-url");
  const url = custom || `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/agent`;
  socket = new ReconnectingSocket(url, {
    events: EVENTS,
    onClose: (ev, welcomed) => {
      // Closed before `welcome` with a policy/auth code: the session is gone or not allowed.
      S.authFailed = !welcomed && (ev.code === 1008 || ev.code === 4401 || ev.code === 4403);
      resetTypingState();
      hidePeerTyping();
      S.pending.forEach((p) => clearTimeout(p.timer)); // resent after the reconnect
      refreshPending();
      renderBanner();
      renderConversation();
    },
    onChange: renderBanner,
    warn,
  });
}

// Events that must not go out before `welcome` (the server is not ready for them).
export function send(payload) {
  if (!socket.connected) return false;
  return socket.send(payload);
}

export function renderBanner() {
  const show = !socket.connected;
  E.banner.hidden = !show;
  if (!show) return;
  let text;
  if (S.authFailed) text = t.sessionEnded;
  else text = socket.everConnected ? t.reconnecting : t.connecting;
  E.bannerText.textContent = text;
  E.banner.setAttribute("data-state", S.authFailed ? "auth" : socket.everConnected ? "reconnecting" : "connecting");
  E.bannerLogin.hidden = !S.authFailed;
  E.bannerRetry.hidden = !socket.reconnectTimer;
}

// ---- Server events -----------------------------------------------------------------------------

const EVENTS = {
  welcome: onWelcome,
  queue: onQueue,
  conversation: onConversation,
  message: (ev) => {
    if (ev.conversation_id === S.openId) addMessage(ev, true);
  },
  note: (ev) => {
    if (ev.conversation_id === S.openId) addNote(ev, true);
  },
  delivery: (ev) => {
    if (ev.conversation_id === S.openId) setDelivery(ev);
  },
  typing: onPeerTyping,
  state: onState,
  claimed: onClaimed,
  rated: (ev) => {
    // The customer rated (or re-rated) the open conversation.
    if (ev.conversation_id === S.openId && S.conv) {
      S.conv.csat = { score: ev.score, comment: ev.comment, rated_at: ev.rated_at };
      renderContext();
    }
  },
  customer_ended: (ev) => {
    toast(t.customerEnded + (ev.conversation_id === S.openId ? "" : ` (${String(ev.conversation_id).slice(0, 8)})`));
  },
  error: onError,
};

function onWelcome(ev) {
  socket.welcomed();
  S.authFailed = false;
  if (ev.user && typeof ev.user === "object") {
    if (ev.user.id !== undefined && ev.user.id !== null) S.me.id = ev.user.id;
    if (ev.user.display_name) S.me.name = ev.user.display_name;
  }
  if (typeof ev.max_open_chats === "number") S.maxOpen = ev.max_open_chats;
  if (typeof ev.csrf_token === "string") S.csrf = ev.csrf_token;
  if (ev.presence === "online" || ev.presence === "away") S.presence = ev.presence;
  if (S.presenceWanted && S.presenceWanted !== S.presence) {
    S.presence = S.presenceWanted;
    send({ type: "presence", status: S.presenceWanted });
  }
  renderPresence();
  renderBanner();
  refreshPending();
  // Resume the open conversation: only what we have not shown yet comes back.
  if (S.openId) {
    const payload = { type: "open", conversation_id: S.openId };
    if (S.conv && S.conv.loaded) payload.last_seq = S.lastSeq;
    send(payload);
  }
  renderConversation();
}

function onQueue(ev) {
  const now = performance.now();
  if (Array.isArray(ev.waiting)) S.queue.waiting = ev.waiting.filter((w) => w && w.conversation_id);
  // the server lists the first ones of a long queue and counts them all
  S.queue.total = Number.isInteger(ev.waiting_total) && ev.waiting_total >= S.queue.waiting.length
    ? ev.waiting_total
    : S.queue.waiting.length;
  if (Array.isArray(ev.mine)) S.queue.mine = ev.mine.filter((m) => m && m.conversation_id);
  if (Array.isArray(ev.agents)) S.queue.agents = ev.agents.filter((a) => a && typeof a === "object");
  if (typeof ev.open === "boolean") S.queue.open = ev.open;
  const seen = new Set();
  S.queue.waiting.forEach((w) => {
    seen.add(w.conversation_id);
    S.queueMeta.set(w.conversation_id, {
      base: typeof w.waiting_seconds === "number" ? w.waiting_seconds : 0,
      at: now,
      target: typeof w.sla_target_seconds === "number" ? w.sla_target_seconds : null,
      sla: SLA_RANK[w.sla] !== undefined ? w.sla : "ok",
    });
  });
  Array.from(S.queueMeta.keys()).forEach((id) => {
    if (!seen.has(id)) S.queueMeta.delete(id);
  });
  // My own presence as the server sees it (unless I just changed it).
  const meEntry = S.queue.agents.find((a) => S.me.id !== null && String(a.id) === String(S.me.id));
  if (meEntry && (meEntry.presence === "online" || meEntry.presence === "away") &&
      performance.now() - S.presenceChangedAt > 2000) {
    S.presence = meEntry.presence;
  }
  // A conversation no longer mine (transferred, handed back, closed) loses its claim mark.
  S.claimed.forEach((id) => {
    if (!S.queue.mine.some((m) => m.conversation_id === id) && !(S.conv && S.conv.id === id)) {
      S.claimed.delete(id);
    }
  });
  renderQueue();
  renderMine();
  renderAgents();
  renderPresence();
  E.hours.hidden = S.queue.open !== false;
  if (S.openId) renderConversation();
}

function onConversation(ev) {
  if (!ev.conversation_id || ev.conversation_id !== S.openId || !S.conv) return;
  const c = S.conv;
  ["state", "lang", "channel", "customer_email", "agent", "reason", "scores", "summary", "suggestions", "contact", "outcome", "tags", "csat", "attachments"]
    .forEach((key) => {
      if (Object.prototype.hasOwnProperty.call(ev, key)) c[key] = ev[key];
    });
  c.agentId = Object.prototype.hasOwnProperty.call(ev, "agent_id") ? ev.agent_id : undefined;
  const first = !c.loaded;
  const stick = nearBottom();
  c.loaded = true;
  const messages = Array.isArray(ev.messages) ? ev.messages : [];
  const notes = Array.isArray(ev.notes) ? ev.notes : [];
  messages.forEach((m) => addMessage(m, false));
  notes.forEach((n) => addNote(n, false));
  renderConversation();
  renderContext();
  if (first || stick) scrollToBottom(true);
  // Replies typed while offline (or sent but never echoed) go again now; the server
  // de-duplicates by client_id, so nothing is stored twice.
  S.pending.forEach((p, clientId) => {
    if (p.conversationId === c.id && !p.failed) transmitPending(clientId);
  });
}

function onState(ev) {
  if (!ev.conversation_id) return;
  if (ev.conversation_id === S.openId && S.conv) {
    const c = S.conv;
    if (typeof ev.state === "string") c.state = ev.state;
    if (c.state === "closed" && S.closing && S.closing.id === c.id) {
      if (!c.outcome) c.outcome = S.closing.outcome;
      if (!Array.isArray(c.tags) || !c.tags.length) c.tags = S.closing.tags;
      S.closing = null;
    }
    // A closed conversation keeps the agent who had it (the event names nobody).
    const keepAgent = ev.state === "closed" && !ev.agent && c.agent;
    ["agent", "reason", "outcome", "tags"].forEach((key) => {
      if (key === "agent" && keepAgent) return;
      if (Object.prototype.hasOwnProperty.call(ev, key)) c[key] = ev[key];
    });
    // The owner's id is known only when the event carries it; otherwise go by name.
    if (Object.prototype.hasOwnProperty.call(ev, "agent_id")) c.agentId = ev.agent_id;
    else if (Object.prototype.hasOwnProperty.call(ev, "agent") && !keepAgent) c.agentId = undefined;
    if (c.state !== "agent" || !isMine(c)) stopTyping();
    if (c.state === "closed") hidePeerTyping();
    renderConversation();
    renderContext();
  }
  if (Object.prototype.hasOwnProperty.call(ev, "agent") && !agentIsMe(ev.agent)) {
    S.claimed.delete(ev.conversation_id);
  }
}

function onClaimed(ev) {
  const id = ev.conversation_id;
  if (!id) return;
  S.claimed.add(id);
  const requested = S.claimRequests.has(id);
  clearClaimRequest(id);
  if (S.conv && S.conv.id === id) {
    S.conv.state = "agent";
    S.conv.agent = S.me.name || S.conv.agent;
    S.conv.agentId = S.me.id !== null ? S.me.id : undefined;
    setMode("reply");
    renderConversation();
    renderContext();
  } else if (requested || !S.openId) {
    // Claimed from this page, or assigned while nothing is open: show it.
    openConversation(id);
  }
  renderQueue();
}

function onError(ev) {
  if (ev.conversation_id) clearClaimRequest(ev.conversation_id);
  if (ev.client_id && S.pending.has(ev.client_id)) {
    markPendingFailed(ev.client_id);
  } else if (ev.conversation_id) {
    // Errors name the conversation, not the message: a reply to it sent moments ago and
    // not yet stored is the likely cause. A retry is harmless (same client_id).
    const now = Date.now();
    S.pending.forEach((p, clientId) => {
      if (p.conversationId === ev.conversation_id && !p.failed && p.sentAt && now - p.sentAt < 5000) {
        markPendingFailed(clientId);
      }
    });
  }
  if (ev.code === "already_claimed" && S.conv && ev.conversation_id === S.conv.id) {
    S.claimed.delete(ev.conversation_id);
  }
  toast(errorText(ev), ev.code);
  renderQueue();
  if (S.openId) renderConversation();
}
