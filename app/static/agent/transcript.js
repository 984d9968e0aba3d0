// Opening a conversation, and its transcript: messages ordered by seq, notes among them
// by time.

import { h, clear } from "../shared/dom.js";
import { fillMessageBody, safeUrl } from "../shared/sanitize.js";
import { send } from "./connection.js";
import { parseTime, formatTime } from "./labels.js";
import { renderQueue, renderMine } from "./queue.js";
import { pendingNode } from "./pending.js";
import { hidePeerTyping, stopTyping, saveDraft, setMode, updateCounter } from "./composer.js";
import { renderConversation, renderContext } from "./context.js";
import { filesNode, noteFiles, settleUpload, showUploads } from "./files.js";
import { $, E, S, t, ROLES } from "./state.js";

export function newConv(id) {
  const w = S.queue.waiting.find((x) => x.conversation_id === id);
  const m = S.queue.mine.find((x) => x.conversation_id === id);
  return {
    id,
    loaded: false,
    state: m ? m.state : w ? "waiting" : null,
    lang: (m && m.lang) || (w && w.lang) || null,
    channel: (m && m.channel) || (w && w.channel) || null,
    customer_email: (m && m.customer_email) || (w && w.customer_email) || null,
    agent: null,
    reason: w ? w.reason : null,
    scores: null,
    summary: [],
    suggestions: [],
    contact: w && w.offline ? { email: w.contact_email || null, message: null } : null,
    outcome: null,
    tags: [],
    csat: null,
  };
}

export function openConversation(id) {
  if (!id) return;
  if (S.openId === id && S.conv) {
    // Already open: ask for anything newer (cheap, and refreshes the context).
    const payload = { type: "open", conversation_id: id };
    if (S.conv.loaded) payload.last_seq = S.lastSeq;
    send(payload);
    return;
  }
  saveDraft();
  stopTyping();
  hidePeerTyping();
  S.openId = id;
  S.conv = newConv(id);
  S.items = [];
  S.seqs = new Map();
  S.noteIds = new Map();
  S.deliveries = new Map(); // seq -> the latest delivery frame of the mail carrying it
  S.lastSeq = 0;
  clear(E.transcript);
  const draft = S.drafts.get(id);
  E.composer.value = draft ? draft.text : "";
  setMode(draft ? draft.mode : "reply", true);
  S.pending.forEach((p, clientId) => {
    if (p.conversationId === id) {
      p.node = pendingNode(clientId, p);
      E.transcript.appendChild(p.node);
    }
  });
  showUploads(id);
  try {
    history.replaceState(null, "", `#conversation=${encodeURIComponent(id)}`);
  } catch (err) {
    /* file:// or sandboxed: not important */
  }
  send({ type: "open", conversation_id: id });
  renderQueue();
  renderMine();
  renderConversation();
  renderContext();
  updateCounter();
}

// ---- Transcript -----------------------------------------------------------------------------------

// Messages are ordered by seq; notes sit among them by created_at.
export function compareItems(a, b) {
  if (a.kind === "m" && b.kind === "m") return a.seq - b.seq;
  const ta = isNaN(a.time) ? Infinity : a.time;
  const tb = isNaN(b.time) ? Infinity : b.time;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.kind !== b.kind) return a.kind === "m" ? -1 : 1;
  return (a.id || 0) - (b.id || 0);
}

export function insertItem(item) {
  let i = S.items.length;
  while (i > 0 && compareItems(S.items[i - 1], item) > 0) i -= 1;
  const before = S.items[i] ? S.items[i].node : firstPendingNode();
  S.items.splice(i, 0, item);
  E.transcript.insertBefore(item.node, before);
}

export function firstPendingNode() {
  return E.transcript.querySelector("[data-pending='true']");
}

export function nearBottom() {
  const el = E.transcript;
  return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
}

export function scrollToBottom(force) {
  if (force || nearBottom()) E.transcript.scrollTop = E.transcript.scrollHeight;
}

export function roleLabel(role, m) {
  if (role === "agent") return m.author ? String(m.author) : t.roles.agent;
  return t.roles[role];
}

export function messageNode(m) {
  const role = ROLES.indexOf(m.role) >= 0 ? m.role : "system";
  const li = h("li", {
    class: `kk-msg kk-msg--${role}`,
    "data-testid": "message",
    "data-role": role,
    "data-seq": String(m.seq),
    "data-kind": m.kind || null,
  });
  li.appendChild(h("div", { class: "kk-msg-head" }, [
    h("span", { class: "kk-msg-author", text: roleLabel(role, m) }),
    m.created_at ? h("time", { class: "kk-msg-time", datetime: m.created_at, text: formatTime(m.created_at) }) : null,
  ]));
  const files = filesNode(m);
  if (!files || (typeof m.text === "string" && m.text.trim())) { // a file alone has no text
    const body = h("div", { class: "kk-msg-body" });
    fillMessageBody(body, m, role);
    li.appendChild(body);
  }
  if (files) li.appendChild(files);
  if (role === "bot") {
    const extras = [];
    const citations = Array.isArray(m.citations) ? m.citations.filter((c) => c && (c.title || c.url)) : [];
    if (citations.length) {
      const list = h("ul", { class: "kk-citations" });
      citations.forEach((c) => {
        const label = String(c.title || c.url);
        list.appendChild(h("li", {}, [
          safeUrl(c.url)
            ? h("a", { href: c.url, target: "_blank", rel: "noopener noreferrer", text: label })
            : h("span", { text: label }),
        ]));
      });
      extras.push(h("div", { class: "kk-msg-sources" }, [h("span", { class: "kk-msg-sources-label", text: t.sources }), list]));
    }
    if (typeof m.confidence === "number") {
      const pct = Math.round(Math.max(0, Math.min(1, m.confidence)) * 100);
      extras.push(h("span", {
        class: "kk-confidence" + (pct < 40 ? " kk-confidence--low" : ""),
        "data-testid": "confidence",
        text: t.confidence(pct),
      }));
    }
    if (m.feedback === true || m.feedback === false) {
      extras.push(h("span", {
        class: `kk-feedback kk-feedback--${m.feedback ? "up" : "down"}`,
        text: (m.feedback ? "👍 " : "👎 ") + t.feedback[String(m.feedback)],
      }));
    }
    if (extras.length) li.appendChild(h("div", { class: "kk-msg-foot" }, extras));
  }
  const delivery = (S.deliveries && S.deliveries.get(m.seq)) || m.delivery;
  if (delivery) li.appendChild(h("div", { class: "kk-msg-foot", "data-role": "delivery-foot" }, [deliveryNode(delivery)]));
  return li;
}

/** The state of the mail that carries a message: queued, sent or failed (agents only). */
export function deliveryNode(d) {
  const status = ["queued", "sent", "failed"].indexOf(d.status) >= 0 ? d.status : "queued";
  const label = t.delivery[status];
  return h("span", {
    class: `kk-delivery kk-delivery--${status}`,
    "data-testid": "delivery",
    "data-status": status,
    title: d.address ? t.deliveryTo(label, String(d.address)) : null,
    text: (status === "sent" ? "✓ " : status === "failed" ? "⚠ " : "… ") + label,
  });
}

/** A live `delivery` frame: the mail of message `seq` was queued, sent or failed. */
export function setDelivery(ev) {
  if (typeof ev.seq !== "number") return;
  if (!S.deliveries) S.deliveries = new Map();
  S.deliveries.set(ev.seq, ev); // kept if the message itself has not arrived yet
  const item = S.seqs.get(ev.seq);
  if (!item) return;
  const old = $("[data-role='delivery-foot']", item.node);
  const foot = h("div", { class: "kk-msg-foot", "data-role": "delivery-foot" }, [deliveryNode(ev)]);
  if (old) old.replaceWith(foot);
  else item.node.appendChild(foot);
}

export function addMessage(m, live) {
  if (!m || typeof m !== "object") return;
  if (m.client_id) settleUpload(m.client_id);
  if (m.client_id && S.pending.has(m.client_id)) {
    const p = S.pending.get(m.client_id);
    clearTimeout(p.timer);
    if (p.node) p.node.remove();
    S.pending.delete(m.client_id);
  }
  if (typeof m.seq !== "number") return;
  if (S.seqs.has(m.seq)) return; // replayed after a reconnect: already shown
  const stick = live && nearBottom();
  const item = { kind: "m", seq: m.seq, time: parseTime(m.created_at), node: messageNode(m) };
  S.seqs.set(m.seq, item);
  insertItem(item);
  if (m.seq > S.lastSeq) S.lastSeq = m.seq;
  if (m.role === "customer") hidePeerTyping();
  if (live && noteFiles(m)) renderContext(); // the context column lists it too
  if (live) scrollToBottom(stick || (m.role === "agent" && m.client_id));
}

export function noteNode(n) {
  return h("li", { class: "kk-note", "data-testid": "note", "data-note-id": n.id !== undefined ? String(n.id) : null }, [
    h("div", { class: "kk-msg-head" }, [
      h("span", { class: "kk-note-label", text: t.internalNote }),
      n.author ? h("span", { class: "kk-msg-author", text: String(n.author) }) : null,
      n.created_at ? h("time", { class: "kk-msg-time", datetime: n.created_at, text: formatTime(n.created_at) }) : null,
    ]),
    h("div", { class: "kk-msg-body kk-plain", text: typeof n.text === "string" ? n.text : "" }),
  ]);
}

export function addNote(n, live) {
  if (!n || typeof n !== "object") return;
  const key = n.id !== undefined && n.id !== null ? String(n.id) : null;
  if (key !== null && S.noteIds.has(key)) return;
  const stick = live && nearBottom();
  const time = parseTime(n.created_at);
  const item = { kind: "n", id: typeof n.id === "number" ? n.id : 0, time: isNaN(time) ? Date.now() : time, node: noteNode(n) };
  if (key !== null) S.noteIds.set(key, item);
  insertItem(item);
  if (live) scrollToBottom(stick);
}
