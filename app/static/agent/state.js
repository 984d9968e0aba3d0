// The console's constants, language, state and the elements of the shell that
// app/templates/agent.html renders.

import { logger } from "../shared/dom.js";
import en from "./strings/en.js";
import ja from "./strings/ja.js";

export const TYPING_RESEND_MS = 3000; // typing:true at most this often
export const TYPING_IDLE_MS = 4000; // typing:false after this long without input
export const PEER_TYPING_TIMEOUT_MS = 8000; // hide the customer's indicator if no update arrives
export const MAX_TEXT = 4000; // code points, as the server counts
export const TOAST_MS = 15000;
export const PENDING_TIMEOUT_MS = 15000; // a reply not echoed by then is shown as not sent
export const ROLES = ["customer", "bot", "agent", "system"];
export const SLA_RANK = { ok: 0, near: 1, breached: 2 };

export const root = document.getElementById("kk-agent"); // null: not the console page
export const lang = root && root.getAttribute("data-lang") === "ja" ? "ja" : "en";
export const t = { en, ja }[lang];

export const warn = logger("[kakehashi agent]");

export const S = {
  authFailed: false,
  me: { id: null, name: "" },
  maxOpen: null,
  csrf: "",
  presence: "online",
  presenceWanted: null, // what the agent last chose; re-asserted after a reconnect
  presenceChangedAt: 0,
  queue: { waiting: [], total: 0, mine: [], agents: [], open: true },
  queueMeta: new Map(), // conversation_id -> {base, at, target, sla}
  claimed: new Set(), // conversations this agent won (`claimed`)
  claimRequests: new Map(), // conversation_id -> timer, claims sent from this page
  openId: null,
  conv: null, // the open conversation's context
  items: [], // transcript items in display order: {kind, seq, id, time, node}
  seqs: new Map(), // seq -> item (de-duplication)
  noteIds: new Map(), // note id -> item
  lastSeq: 0,
  pending: new Map(), // client_id -> {conversationId, text, node, failed}
  drafts: new Map(), // conversation_id -> {text, mode}
  mode: "reply",
  typing: { active: false, lastSent: 0, idle: null, conversationId: null },
  peerTypingTimer: null,
  closing: null, // the close this page sent: {id, outcome, tags}
  baseTitle: document.title,
};


export const $ = (sel, scope) => (scope || root).querySelector(sel);
const byRole = (name) => root.querySelector(`[data-role="${name}"]`);
const byTestId = (name) => root.querySelector(`[data-testid="${name}"]`);

// The shell's elements, found once the page is known to be the console.
export const E = {};

export function collectElements() {
  Object.assign(E, {
    banner: byTestId("connection-banner"),
    bannerText: byRole("conn-text"),
    bannerLogin: byRole("conn-login"),
    bannerRetry: byRole("conn-retry"),
    toasts: byRole("toasts"),
    presence: byTestId("presence"),
    presenceText: byRole("presence-text"),
    hours: byRole("hours"),
    queue: byTestId("queue"),
    queueCount: byRole("queue-count"),
    queueEmpty: byRole("queue-empty"),
    queueMore: byRole("queue-more"),
    mine: byTestId("my-chats"),
    mineEmpty: byRole("mine-empty"),
    agents: byTestId("agents"),
    convHeading: byRole("conv-heading"),
    placeholder: byRole("placeholder"),
    conv: byRole("conversation"),
    meta: byRole("conv-meta"),
    claim: byRole("conv-claim"),
    handBack: byTestId("hand-back"),
    draftArticle: byTestId("draft-article"),
    transfer: byTestId("transfer"),
    close: byTestId("close"),
    transcript: byTestId("transcript"),
    typing: byTestId("typing-indicator"),
    form: byRole("composer-form"),
    modeReply: byTestId("mode-reply"),
    modeNote: byTestId("mode-note"),
    composerLabel: byRole("composer-label"),
    composer: byTestId("composer"),
    hint: byRole("composer-hint"),
    counter: byRole("counter"),
    send: byTestId("send"),
    attach: byTestId("attach"),
    fileInput: byTestId("file-input"),
    contextEmpty: byRole("context-empty"),
    context: byRole("context"),
    cannedFilter: byRole("canned-filter"),
    cannedList: byRole("canned-list"),
    cannedEmpty: byRole("canned-empty"),
  });
}
