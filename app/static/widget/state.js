// The widget's configuration (from the loader's <script> tag), its state, and what it keeps
// in localStorage: { token, lastSeq } under one key per server origin.

import { logger } from "../shared/dom.js";
import en from "./strings/en.js";
import ja from "./strings/ja.js";

const STRINGS = { en, ja };

export const MAX_CHARS = 4000; // the server's default limit (counted in code points)
export const COUNTER_FROM = 3500; // show the counter once the text gets near the limit
export const TYPING_REPEAT_MS = 3000; // re-send typing:true at most this often
export const TYPING_IDLE_MS = 4000; // typing:false after this long without input
export const TYPING_SAFETY_MS = 60000; // hide a bot/agent indicator nobody switched off

export const warn = logger("[kakehashi]");

// Set once by configure(), before anything is built.
export let lang = "en";
export let t = STRINGS.en;
export let position = "right";
export let title = "";
export let dialogLabel = "";
export let wsUrl = "";
export let apiBase = ""; // the server the widget came from (HTTP: attachments)
let storageKey = "";

export let ui = null; // element references once built

export function setUi(elements) {
  ui = elements;
}

function pickLang(wanted) {
  if (STRINGS[wanted]) return wanted;
  const nav = (navigator.language || "").toLowerCase();
  return nav.indexOf("ja") === 0 ? "ja" : "en";
}

/**
 * Read what the loader found on its <script> tag.
 * @param {{scriptUrl: string, lang: string, position: string, title: string}} config
 */
export function configure(config) {
  const scriptUrl = new URL(config.scriptUrl, location.href);
  wsUrl = (scriptUrl.protocol === "https:" ? "wss://" : "ws://") + scriptUrl.host + "/ws/chat";
  apiBase = scriptUrl.origin;
  lang = pickLang((config.lang || "").toLowerCase());
  t = STRINGS[lang];
  position = (config.position || "").toLowerCase() === "left" ? "left" : "right";
  title = config.title || t.title;
  dialogLabel = config.title || t.dialog;
  storageKey = "kakehashi:" + scriptUrl.origin;
  const stored = loadStored();
  S.token = stored.token;
  S.seenBefore = stored.lastSeq;
  // A mail's "reopen the chat" link (/?resume=<mail token>) on the host page's URL: that
  // conversation, once (a reload after it keeps the chat it opened).
  const resume = new URLSearchParams(location.search).get("resume");
  S.resumed = stored.resumed;
  if (resume && resume.length <= 128 && resume !== stored.resumed) {
    S.resume = resume;
    S.seenBefore = 0;
  }
}

export const fmt = (n) => n.toLocaleString(lang === "ja" ? "ja-JP" : "en-US");

// The customer's own locale when it is in the widget's language ("en-GB" reads 14:05),
// otherwise the widget's language; times are in the customer's own time zone.
export function locale() {
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return nav.toLowerCase().indexOf(lang) === 0 ? nav : lang === "ja" ? "ja-JP" : "en-US";
}

/** "14:05" today, "3 Dec, 14:05" on another day (for a message's timestamp). */
export function clockTime(iso) {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return "";
  const sameDay = d.toDateString() === new Date().toDateString();
  const opts = sameDay ? { hour: "numeric", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

/** When the team is back, in the customer's time zone: "Monday 9:00" / "月曜日 9:00". */
export function openingTime(iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d.getTime())) return "";
  const days = Math.round((d - new Date()) / 86400000);
  const clock = { hour: "numeric", minute: "2-digit" };
  // Name the zone only when the customer's clock differs from the team's.
  const offset = /([+-])(\d\d):(\d\d)$/.exec(iso);
  const theirs = offset ? (offset[1] === "-" ? 1 : -1) * (Number(offset[2]) * 60 + Number(offset[3])) : null;
  if (theirs !== null && theirs !== d.getTimezoneOffset()) clock.timeZoneName = "short";
  let day = "";
  if (days >= 6) day = new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric" }).format(d);
  else if (d.toDateString() !== new Date().toDateString()) {
    day = new Intl.DateTimeFormat(locale(), { weekday: "long" }).format(d);
  }
  // "Monday 9:00" / "月曜日 9:00": the day first, as people say it.
  return (day ? day + " " : "") + new Intl.DateTimeFormat(locale(), clock).format(d);
}

export const S = {
  conversationState: null, // bot | waiting | agent | closed
  token: null,
  resume: null, // the mail token of a "reopen the chat" link, until the server accepts it
  resumed: null, // the last link followed (stored: a reload does not follow it again)
  // Highest seq rendered on *this page*. A fresh page has shown nothing, so its first
  // hello asks for the whole history (last_seq 0) and the transcript survives
  // navigation; reconnects on the same page resume from here.
  lastSeq: 0,
  seenBefore: 0, // what an earlier page showed: older replays aren't "new"
  bySeq: new Map(), // seq -> message element (de-duplication)
  pending: new Map(), // client_id -> { text, el, failed } (insertion order = send order)
  uploads: new Map(), // client_id -> { file, el, progress, status }: files being sent
  attaching: null, // what may be attached ({max_bytes, types, max_files}, from welcome)
  open: false,
  unread: 0,
  handoffRequested: false,
  typingSentAt: 0,
  contactSent: false,
  conversationId: null,
  csat: null, // the closed state's rating prompt and rating (docs/protocol.md)
  csatTexts: "", // the texts the rating card was built with
  typingActive: false,
  typingIdleTimer: null,
  peerTypingTimer: null,
};

function loadStored() {
  try {
    const raw = window.localStorage.getItem(storageKey);
    const data = raw ? JSON.parse(raw) : null;
    if (data && typeof data === "object") {
      return {
        token: typeof data.token === "string" ? data.token : null,
        lastSeq: Number.isInteger(data.lastSeq) ? data.lastSeq : 0,
        resumed: typeof data.resumed === "string" ? data.resumed : null,
      };
    }
  } catch (err) { /* storage disabled (privacy mode, sandboxed iframe) or corrupt */ }
  return { token: null, lastSeq: 0, resumed: null };
}

export function saveStored() {
  try {
    window.localStorage.setItem(storageKey, JSON.stringify({ token: S.token, lastSeq: S.lastSeq, resumed: S.resumed }));
  } catch (err) { /* not fatal: the conversation just won't survive a reload */ }
}
