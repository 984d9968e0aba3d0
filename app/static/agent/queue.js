// The queue (waiting customers with live waiting times and SLA states), my chats, the
// agents and their presence, and claiming.

import { h, clear } from "../shared/dom.js";
import { send, socket } from "./connection.js";
import { toast } from "./toasts.js";
import { mmss, humanize, reasonLabel, stateLabel, langLabel } from "./labels.js";
import { openConversation } from "./transcript.js";
import { renderConversation } from "./context.js";
import { $, E, S, t, SLA_RANK } from "./state.js";

export function liveSla(meta) {
  if (!meta) return "ok";
  let rank = SLA_RANK[meta.sla] || 0;
  if (meta.target && meta.target > 0) {
    const secs = meta.base + (performance.now() - meta.at) / 1000;
    if (secs >= meta.target) rank = Math.max(rank, 2);
    else if (secs >= meta.target * 0.75) rank = Math.max(rank, 1);
  }
  return ["ok", "near", "breached"][rank];
}

export function waitingSeconds(meta) {
  return meta ? meta.base + (performance.now() - meta.at) / 1000 : 0;
}

export function createQueueEntry(id) {
  const li = h("li", { class: "kk-entry", "data-testid": "queue-entry", "data-conversation-id": id });
  const timerText = document.createTextNode("00:00");
  const main = h("button", { type: "button", class: "kk-entry-main", "data-role": "entry-open" }, [
    h("span", { class: "kk-entry-top" }, [
      h("span", { class: "kk-badge kk-reason", "data-role": "reason" }),
      h("span", { class: "kk-badge kk-badge--lang", "data-role": "lang" }),
      h("span", { class: "kk-badge kk-badge--email", "data-role": "channel", "data-testid": "channel-email", hidden: true, text: t.channelEmail }),
      h("span", { class: "kk-wait" }, [
        h("span", { class: "kk-sr", text: `${t.waiting} ` }),
        h("span", { class: "kk-timer", "data-role": "timer" }, [timerText]),
      ]),
      h("span", { class: "kk-sla", "data-role": "sla" }),
    ]),
    h("span", { class: "kk-preview", "data-role": "preview" }),
    h("span", { class: "kk-channel-address", "data-role": "channel-address", hidden: true }),
    h("span", { class: "kk-offline", "data-role": "offline", hidden: true }, [
      h("span", { class: "kk-badge kk-badge--offline", text: t.offline }),
      h("span", { class: "kk-offline-email", "data-role": "offline-email" }),
    ]),
  ]);
  const claim = h("button", {
    type: "button",
    class: "kk-btn kk-btn--primary kk-btn--small kk-entry-claim",
    "data-testid": "claim",
    text: t.claim,
  });
  claim.addEventListener("click", (e) => {
    e.stopPropagation();
    claimConversation(id);
  });
  li.addEventListener("click", (e) => {
    if (e.target && e.target.closest && e.target.closest("[data-testid='claim']")) return;
    openConversation(id);
  });
  li.appendChild(main);
  li.appendChild(claim);
  li._kkTimer = timerText;
  return li;
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function updateQueueEntry(li, w) {
  const id = w.conversation_id;
  const reason = w.reason || "";
  li.setAttribute("data-reason", reason);
  const reasonNode = $("[data-role='reason']", li);
  reasonNode.className = `kk-badge kk-reason kk-reason--${reason.replace(/[^a-z_]/gi, "") || "other"}`;
  setText(reasonNode, reasonLabel(reason));
  const langNode = $("[data-role='lang']", li);
  setText(langNode, String(w.lang || "—").toUpperCase());
  langNode.setAttribute("title", langLabel(w.lang));
  setText($("[data-role='preview']", li), w.preview ? String(w.preview) : t.noPreview);
  const email = w.channel === "email";
  $("[data-role='channel']", li).hidden = !email;
  const address = $("[data-role='channel-address']", li);
  address.hidden = !(email && w.customer_email);
  setText(address, email && w.customer_email ? String(w.customer_email) : "");
  li.setAttribute("data-channel", email ? "email" : "chat");
  const offline = $("[data-role='offline']", li);
  offline.hidden = !w.offline;
  setText($("[data-role='offline-email']", li), w.offline && w.contact_email ? String(w.contact_email) : "");
  li.classList.toggle("kk-entry--offline", !!w.offline);
  li.classList.toggle("kk-entry--open", id === S.openId);
  const main = $("[data-role='entry-open']", li);
  if (id === S.openId) main.setAttribute("aria-current", "true");
  else main.removeAttribute("aria-current");
  const claim = $("[data-testid='claim']", li);
  const inFlight = S.claimRequests.has(id);
  claim.disabled = inFlight;
  setText(claim, inFlight ? t.claiming : t.claim);
  claim.setAttribute("aria-label", t.claimFor(w.preview ? String(w.preview).slice(0, 60) : id));
  tickEntry(li, id);
}

export function tickEntry(li, id) {
  const meta = S.queueMeta.get(id);
  const time = mmss(waitingSeconds(meta));
  if (li._kkTimer && li._kkTimer.data !== time) li._kkTimer.data = time; // a text change, not an addition
  const sla = liveSla(meta);
  if (li.getAttribute("data-sla") !== sla) {
    li.setAttribute("data-sla", sla);
    const slaNode = $("[data-role='sla']", li);
    slaNode.className = `kk-sla kk-sla--${sla}`;
    slaNode.textContent = t.sla[sla];
  }
}

export function renderQueue() {
  const list = E.queue;
  const existing = new Map();
  Array.from(list.children).forEach((li) => existing.set(li.getAttribute("data-conversation-id"), li));
  S.queue.waiting.forEach((w, index) => {
    let li = existing.get(w.conversation_id);
    if (li) existing.delete(w.conversation_id);
    else li = createQueueEntry(w.conversation_id);
    updateQueueEntry(li, w);
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] || null);
  });
  existing.forEach((li) => li.remove());
  const n = S.queue.total;
  const shown = S.queue.waiting.length;
  E.queueCount.textContent = String(n);
  E.queueEmpty.hidden = n > 0;
  E.queueMore.hidden = n <= shown;
  if (n > shown) setText(E.queueMore, t.queueMore(shown, n));
  document.title = (n > 0 ? `(${n}) ` : "") + S.baseTitle;
}

export function tickQueue() {
  Array.from(E.queue.children).forEach((li) => tickEntry(li, li.getAttribute("data-conversation-id")));
}

export function renderMine() {
  clear(E.mine);
  S.queue.mine.forEach((m) => {
    const id = m.conversation_id;
    const unread = typeof m.unread === "number" ? m.unread : 0;
    const button = h("button", {
      type: "button",
      class: "kk-mine-open",
      "aria-current": id === S.openId ? "true" : null,
      onclick: () => openConversation(id),
    }, [
      h("span", { class: "kk-entry-top" }, [
        h("span", { class: "kk-badge kk-badge--lang", text: String(m.lang || "—").toUpperCase(), title: langLabel(m.lang) }),
        h("span", { class: `kk-badge kk-state kk-state--${m.state || "unknown"}`, text: stateLabel(m.state) }),
        m.channel === "email" ? h("span", { class: "kk-badge kk-badge--email", "data-testid": "channel-email", text: t.channelEmail }) : null,
        unread > 0
          ? h("span", { class: "kk-unread", "data-testid": "unread", text: String(unread), "aria-label": t.unread(unread), title: t.unread(unread) })
          : null,
      ]),
      h("span", { class: "kk-preview", text: m.preview ? String(m.preview) : t.noPreview }),
      m.channel === "email" && m.customer_email ? h("span", { class: "kk-channel-address", text: String(m.customer_email) }) : null,
    ]);
    E.mine.appendChild(h("li", {
      class: "kk-mine-entry" + (id === S.openId ? " kk-entry--open" : ""),
      "data-testid": "mine-entry",
      "data-conversation-id": id,
      "data-unread": String(unread),
    }, [button]));
  });
  E.mineEmpty.hidden = S.queue.mine.length > 0;
}

export function renderAgents() {
  clear(E.agents);
  if (!S.queue.agents.length) {
    E.agents.appendChild(h("li", { class: "kk-empty", text: t.agentsEmpty }));
    return;
  }
  S.queue.agents.forEach((a) => {
    const presence = a.presence || "offline";
    const me = S.me.id !== null && String(a.id) === String(S.me.id);
    E.agents.appendChild(h("li", {
      class: `kk-agent kk-agent--${presence}`,
      "data-testid": "agent",
      "data-agent-id": String(a.id),
      "data-presence": presence,
    }, [
      h("span", { class: "kk-dot", "aria-hidden": "true" }),
      h("span", { class: "kk-agent-name", text: (a.display_name || String(a.id)) + (me ? ` ${t.you}` : "") }),
      h("span", { class: "kk-agent-presence", text: t.presence[presence] || humanize(presence) }),
      typeof a.open_chats === "number" ? h("span", { class: "kk-agent-load", text: t.openChats(a.open_chats) }) : null,
    ]));
  });
}

export function renderPresence() {
  const p = S.presence === "away" ? "away" : "online";
  E.presence.setAttribute("data-status", p);
  E.presence.setAttribute("aria-pressed", p === "online" ? "true" : "false");
  E.presenceText.textContent = t.presence[p];
  E.presence.title = t.presenceSwitch(t.presence[p === "online" ? "away" : "online"]);
}

export function togglePresence() {
  const next = S.presence === "online" ? "away" : "online";
  S.presence = next;
  S.presenceWanted = next;
  S.presenceChangedAt = performance.now();
  send({ type: "presence", status: next });
  renderPresence();
}

export function claimConversation(id) {
  if (!socket.connected) {
    toast(t.notConnected, "not_connected");
    return;
  }
  if (S.claimRequests.has(id)) return;
  // Re-enable the button if the server never answers (a lost frame, say).
  S.claimRequests.set(id, setTimeout(() => {
    clearClaimRequest(id);
    renderQueue();
    renderConversation();
  }, 8000));
  send({ type: "claim", conversation_id: id });
  renderQueue();
  renderConversation();
}

export function clearClaimRequest(id) {
  if (!S.claimRequests.has(id)) return;
  clearTimeout(S.claimRequests.get(id));
  S.claimRequests.delete(id);
}
