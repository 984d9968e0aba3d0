// The transcript: messages in seq order, source links, answer feedback, the typing dots.

import { h } from "../shared/dom.js";
import { uuid } from "../shared/ids.js";
import { fillMessageBody, safeUrl } from "../shared/sanitize.js";
import { socket, sendRaw } from "./connection.js";
import { requestHandoff } from "./composer.js";
import { filesNode } from "./files.js";
import { settleUpload } from "./upload.js";
import { updateBadge, updateChrome, scrollToBottom, atBottom } from "./panel.js";
import { S, t, ui, saveStored, clockTime, TYPING_SAFETY_MS } from "./state.js";

export function onPeerTyping(ev) {
  if (ev.role !== "bot" && ev.role !== "agent") return;
  if (ev.typing) {
    ui.typingText.textContent = ev.role === "agent" ? t.typingAgent : t.typingBot;
    ui.typing.hidden = false;
    clearTimeout(S.peerTypingTimer);
    S.peerTypingTimer = setTimeout(hidePeerTyping, TYPING_SAFETY_MS);
    scrollToBottom(false);
  } else {
    hidePeerTyping();
  }
}

export function hidePeerTyping() {
  clearTimeout(S.peerTypingTimer);
  if (ui) ui.typing.hidden = true;
}

export function renderMessage(m) {
  if (typeof m.seq !== "number") return;
  const seq = m.seq;
  if (S.bySeq.has(seq)) return; // replay or resend echo we already show

  // read before the message is added: a long one would otherwise look like scrolling away
  const stick = atBottom();
  let node;
  if (m.role === "customer" && m.client_id) settleUpload(m.client_id); // drawn below instead
  const pending = m.role === "customer" && m.client_id ? S.pending.get(m.client_id) : null;
  if (pending) {
    // The server's echo confirms our optimistic bubble: reuse it, don't add another.
    node = pending.el;
    S.pending.delete(m.client_id);
    node.removeAttribute("data-status");
    node.removeAttribute("data-client-id");
    const status = node.querySelector(".kk-status");
    if (status) status.remove();
    node.querySelector(".kk-bubble").textContent = typeof m.text === "string" ? m.text : pending.text;
    node.appendChild(timestamp(m));
    node.remove(); // re-inserted below at its place in seq order
  } else {
    node = buildMessage(m);
  }
  node.setAttribute("data-seq", String(seq));
  S.bySeq.set(seq, node);
  insertInOrder(node, seq);
  if (S.bySeq.size === 1) updateChrome(); // "End chat" appears once something was said
  ui.empty.hidden = true;

  if (seq > S.lastSeq) {
    S.lastSeq = seq;
    saveStored();
  }
  if (m.role === "bot" || m.role === "agent") hidePeerTyping();
  if (m.role !== "customer" && !S.open && seq > S.seenBefore) {
    S.unread += 1;
    updateBadge();
  }
  scrollToBottom(m.role === "customer" || stick);
}

// Keep the log in seq order; optimistic (unconfirmed) bubbles always stay last.
function insertInOrder(node, seq) {
  const children = ui.log.children;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    const childSeq = child.getAttribute("data-seq");
    if (childSeq === null || Number(childSeq) > seq) {
      ui.log.insertBefore(node, child);
      return;
    }
  }
  ui.log.appendChild(node);
}

function speakerLabel(m) {
  if (m.role === "customer") return t.you;
  if (m.role === "agent") return (typeof m.author === "string" && m.author) || t.agent;
  if (m.role === "system") return t.system;
  return t.assistant;
}

function buildMessage(m) {
  const role = ["customer", "bot", "agent", "system"].indexOf(m.role) >= 0 ? m.role : "system";
  const kind = typeof m.kind === "string" ? m.kind : "text";
  const node = h("div", { class: "kk-msg", "data-testid": "message", "data-role": role, "data-kind": kind });
  node.appendChild(h("span", { class: "kk-sr", text: speakerLabel(m) + ": " }));
  if (role === "agent") {
    node.appendChild(h("div", { class: "kk-author", "aria-hidden": "true", text: speakerLabel(m) }));
  }

  const files = filesNode(m);
  if (!files || (typeof m.text === "string" && m.text.trim())) { // a file alone has no bubble
    const bubble = h("div", { class: "kk-bubble" });
    fillMessageBody(bubble, m, role);
    node.appendChild(bubble);
  }
  if (files) node.appendChild(files);

  const citations = Array.isArray(m.citations) ? m.citations.filter((c) => c && typeof c === "object") : [];
  if (role === "bot" && kind === "suggestions" && citations.length) {
    node.appendChild(buildChoices(citations));
  } else if (role === "bot" && kind === "decline") {
    node.appendChild(buildChoices([]));
  } else if (citations.length && role !== "customer") {
    const list = h("ul", { class: "kk-sources" });
    for (const c of m.citations) {
      if (!c || typeof c !== "object") continue;
      const label = t.source + " " + (c.title || c.article_id || "");
      const li = h("li");
      // An answer links to the whole article in its text: name the source once, as text.
      if (kind !== "answer" && typeof c.url === "string" && safeUrl(c.url)) {
        li.appendChild(h("a", {
          href: c.url, target: "_blank", rel: "noopener noreferrer", "data-testid": "citation", text: label,
        }));
      } else {
        li.appendChild(h("span", { "data-testid": "citation", text: label }));
      }
      list.appendChild(li);
    }
    node.appendChild(list);
  }

  if (role === "bot" && kind === "answer") {
    node.appendChild(buildFeedback(m.seq));
    if (m.feedback === true || m.feedback === false) setFeedbackOn(node, m.feedback, false);
  }
  node.appendChild(timestamp(m));
  return node;
}

function timestamp(m) {
  const when = typeof m.created_at === "string" ? clockTime(m.created_at) : "";
  return h("time", { class: "kk-time", datetime: when ? m.created_at : null, "data-testid": "time", text: when });
}

// Quick replies: the articles the bot offers (each answered in the chat) and a person.
function buildChoices(citations) {
  const group = h("div", { class: "kk-choices", role: "group", "aria-label": t.choices });
  const choose = (button, event) => {
    if (!socket.connected || S.conversationState === "closed") return;
    if (event && !sendRaw(event)) return;
    if (!event) requestHandoff();
    button.setAttribute("aria-pressed", "true");
  };
  for (const c of citations) {
    if (typeof c.article_id !== "string") continue;
    const button = h("button", { type: "button", class: "kk-choice", "data-testid": "choice",
      "data-article-id": c.article_id, "aria-pressed": "false", text: c.title || c.article_id });
    button.addEventListener("click", () => choose(button, { type: "choose", client_id: uuid(), article_id: c.article_id }));
    group.appendChild(button);
  }
  if (S.conversationState !== "waiting" && S.conversationState !== "agent") {
    const person = h("button", { type: "button", class: "kk-choice kk-choice-person", "data-testid": "choice-person",
      "aria-pressed": "false", text: t.talkToPerson });
    person.addEventListener("click", () => choose(person, null));
    group.appendChild(person);
  }
  return group;
}

function buildFeedback(seq) {
  const up = h("button", {
    type: "button", "aria-label": t.helpful, "aria-pressed": "false", "data-testid": "feedback-up", "data-helpful": "true",
  }, [h("span", { "aria-hidden": "true", text: "👍" })]);
  const down = h("button", {
    type: "button", "aria-label": t.notHelpful, "aria-pressed": "false", "data-testid": "feedback-down", "data-helpful": "false",
  }, [h("span", { "aria-hidden": "true", text: "👎" })]);
  const thanks = h("span", { class: "kk-thanks", hidden: true, text: t.feedbackThanks });
  const group = h("div", { class: "kk-feedback", role: "group", "aria-label": t.feedbackGroup }, [up, down, thanks]);
  const onClick = (e) => {
    const helpful = e.currentTarget.getAttribute("data-helpful") === "true";
    if (!socket.connected) return; // feedback isn't queued: it would race the replay
    if (sendRaw({ type: "feedback", seq, helpful })) setFeedback(seq, helpful, false);
  };
  up.addEventListener("click", onClick);
  down.addEventListener("click", onClick);
  return group;
}

export function setFeedback(seq, helpful, acknowledged) {
  const node = S.bySeq.get(seq);
  if (node) setFeedbackOn(node, helpful, acknowledged);
}

function setFeedbackOn(node, helpful, acknowledged) {
  const group = node.querySelector(".kk-feedback");
  if (!group) return;
  group.querySelectorAll("button").forEach((b) => {
    const mine = b.getAttribute("data-helpful") === String(helpful === true);
    b.setAttribute("aria-pressed", String(helpful !== null && helpful !== undefined && mine));
  });
  if (acknowledged) group.querySelector(".kk-thanks").hidden = false;
}

// Forget every shown message (a different conversation is about to replay).
export function resetTranscript(dropPending) {
  S.bySeq.forEach((node) => node.remove());
  S.bySeq.clear();
  S.lastSeq = 0;
  S.seenBefore = 0;
  if (dropPending) {
    S.pending.forEach((p) => p.el.remove());
    S.pending.clear();
    S.uploads.forEach((u) => u.el.remove());
    S.uploads.clear();
  }
  hidePeerTyping();
  ui.empty.hidden = ui.log.children.length > 0;
}
