/*
 * Kakehashi chat widget — embed with one tag:
 *
 *   <script src="https://HOST/widget.js" data-lang="ja" async></script>
 *
 * Optional attributes: data-lang (en|ja), data-position (right|left), data-title.
 *
 * Dependency-free, ES2019, no build step. Everything is rendered inside a shadow root so
 * the host page's CSS cannot reach in and ours cannot leak out. It speaks the WebSocket
 * protocol in docs/protocol.md (`/ws/chat` on the origin the script was loaded from).
 *
 * Security rule: customer text and every field other than a bot/agent/system message's
 * `html` is set with textContent. `html` is already sanitised by the server; we clean it
 * once more (defence in depth) before inserting it.
 */
(function () {
  "use strict";

  if (window.Kakehashi && window.Kakehashi.__loaded) return; // embedded twice: keep the first

  // ---- Strings (all UI text lives here) ----------------------------------------------------

  const STRINGS = {
    en: {
      title: "Customer support",
      open: "Open chat",
      openUnread: (n) => `Open chat (${n} new ${n === 1 ? "message" : "messages"})`,
      close: "Close chat",
      dialog: "Customer support chat",
      log: "Conversation",
      empty: "Hi! Ask us anything about orders, delivery, returns or payment.",
      placeholder: "Type your message…",
      inputLabel: "Your message",
      send: "Send",
      handoff: "Talk to a person",
      endChat: "End chat",
      endConfirm: "End this chat? You can't send more messages afterwards.",
      endConfirmYes: "End chat",
      endCancel: "Cancel",
      you: "You",
      assistant: "Assistant",
      agent: "Agent",
      system: "Notice",
      source: "Source:",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      feedbackGroup: "Was this answer helpful?",
      feedbackThanks: "Thanks for your feedback",
      typingBot: "Assistant is typing…",
      typingAgent: "Agent is typing…",
      sending: "Sending…",
      queued: "Will be sent when the connection is back",
      failed: "Not sent",
      retry: "Retry",
      connecting: "Connecting…",
      reconnecting: "Reconnecting…",
      waiting: (pos, mins) =>
        "You're in the queue for a person" +
        (pos || mins ? " — " : "") +
        (pos ? `position ${pos}` : "") +
        (pos && mins ? ", " : "") +
        (mins ? `about ${mins} ${mins === 1 ? "minute" : "minutes"}` : ""),
      agentState: "You're chatting with a person",
      contactIntro: "Nobody can chat right now. Leave your e-mail and we'll reply:",
      contactEmail: "Your e-mail address",
      contactMessage: "Anything to add (optional)",
      contactSend: "Send",
      closed: "This conversation has ended",
      newConversation: "Start a new conversation",
      counter: (n, max) => `${n} / ${max}`,
      errors: {
        text_too_long: "The message is too long (4,000 characters at most).",
        empty_text: "The message is empty.",
        conversation_closed: "This conversation has ended.",
      },
    },
    ja: {
      title: "カスタマーサポート",
      open: "チャットを開く",
      openUnread: (n) => `チャットを開く（新着メッセージ ${n} 件）`,
      close: "チャットを閉じる",
      dialog: "カスタマーサポートのチャット",
      log: "会話",
      empty: "こんにちは。ご注文・配送・返品・お支払いについて、お気軽にご質問ください。",
      placeholder: "メッセージを入力…",
      inputLabel: "メッセージ",
      send: "送信",
      handoff: "担当者と話す",
      endChat: "チャットを終了",
      endConfirm: "このチャットを終了しますか？終了後はメッセージを送信できません。",
      endConfirmYes: "終了する",
      endCancel: "キャンセル",
      you: "あなた",
      assistant: "アシスタント",
      agent: "担当者",
      system: "お知らせ",
      source: "参照:",
      helpful: "役に立った",
      notHelpful: "役に立たなかった",
      feedbackGroup: "この回答は役に立ちましたか？",
      feedbackThanks: "ご意見ありがとうございます",
      typingBot: "アシスタントが入力中…",
      typingAgent: "担当者が入力中…",
      sending: "送信中…",
      queued: "接続が回復したら送信します",
      failed: "送信できませんでした",
      retry: "再送信",
      connecting: "接続しています…",
      reconnecting: "再接続しています…",
      waiting: (pos, mins) =>
        "担当者におつなぎしています。" +
        (pos ? `現在 ${pos} 番目で、` : "") +
        (mins ? `待ち時間は約 ${mins} 分です。` : "しばらくお待ちください。"),
      agentState: "担当者とチャット中です",
      contactIntro: "ただいまチャットで対応できる担当者がおりません。メールアドレスを残していただければご返信いたします：",
      contactEmail: "メールアドレス",
      contactMessage: "補足があればご記入ください（任意）",
      contactSend: "送信",
      closed: "このチャットは終了しました",
      newConversation: "新しいチャットを始める",
      counter: (n, max) => `${n} / ${max}`,
      errors: {
        text_too_long: "メッセージが長すぎます（4,000 文字まで）。",
        empty_text: "メッセージが空です。",
        conversation_closed: "このチャットは終了しています。",
      },
    },
  };

  const MAX_CHARS = 4000; // the server's default limit (counted in code points)
  const COUNTER_FROM = 3500; // show the counter once the text gets near the limit
  const TYPING_REPEAT_MS = 3000; // re-send typing:true at most this often
  const TYPING_IDLE_MS = 4000; // typing:false after this long without input
  const TYPING_SAFETY_MS = 60000; // hide a bot/agent indicator nobody switched off
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;

  // ---- Configuration from our own <script> tag ---------------------------------------------

  function findScript() {
    if (document.currentScript) return document.currentScript;
    // currentScript is null when we run from a callback or were injected oddly.
    const all = document.querySelectorAll('script[src*="widget.js"]');
    return all.length ? all[all.length - 1] : null;
  }

  const script = findScript();
  const attr = (name) => (script && script.getAttribute(name)) || "";
  const scriptUrl = new URL((script && script.src) || "/widget.js", location.href);
  const origin = scriptUrl.origin;
  const wsUrl = (scriptUrl.protocol === "https:" ? "wss://" : "ws://") + scriptUrl.host + "/ws/chat";

  function pickLang() {
    const wanted = attr("data-lang").toLowerCase();
    if (STRINGS[wanted]) return wanted;
    const nav = (navigator.language || "").toLowerCase();
    return nav.indexOf("ja") === 0 ? "ja" : "en";
  }

  const lang = pickLang();
  const t = STRINGS[lang];
  const position = attr("data-position").toLowerCase() === "left" ? "left" : "right";
  const title = attr("data-title") || t.title;

  // ---- Persistence: { token, lastSeq } under one key per server origin ---------------------

  const STORAGE_KEY = "kakehashi:" + origin;

  function loadStored() {
    try {
      const raw = window.localStorage.getItem(STORAGE_KEY);
      const data = raw ? JSON.parse(raw) : null;
      if (data && typeof data === "object") {
        return {
          token: typeof data.token === "string" ? data.token : null,
          lastSeq: Number.isInteger(data.lastSeq) ? data.lastSeq : 0,
        };
      }
    } catch (err) { /* storage disabled (privacy mode, sandboxed iframe) or corrupt */ }
    return { token: null, lastSeq: 0 };
  }

  function saveStored() {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify({ token: S.token, lastSeq: S.lastSeq }));
    } catch (err) { /* not fatal: the conversation just won't survive a reload */ }
  }

  const stored = loadStored();

  // ---- State -------------------------------------------------------------------------------

  const S = {
    ws: null, // the current WebSocket (stale sockets are ignored by identity)
    connected: false, // true between `welcome` and the socket closing
    everConnected: false,
    conversationState: null, // bot | waiting | agent | closed
    token: stored.token,
    // Highest seq rendered on *this page*. A fresh page has shown nothing, so its first
    // hello asks for the whole history (last_seq 0) and the transcript survives
    // navigation; reconnects on the same page resume from here.
    lastSeq: 0,
    seenBefore: stored.lastSeq, // what an earlier page showed: older replays aren't "new"
    bySeq: new Map(), // seq -> message element (de-duplication)
    pending: new Map(), // client_id -> { text, el, failed } (insertion order = send order)
    attempt: 0,
    reconnectTimer: null,
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

  let ui = null; // element references once built
  let pendingOpen = false; // Kakehashi.open() called before the page had a <body>

  // ---- Small helpers -----------------------------------------------------------------------

  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const value = props[key];
        if (value == null || value === false) continue;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    (children || []).forEach((c) => c && node.appendChild(c));
    return node;
  }

  function uuid() {
    const c = window.crypto;
    // randomUUID is missing outside secure contexts (plain-http shops) and in older browsers.
    if (c && typeof c.randomUUID === "function") {
      try { return c.randomUUID(); } catch (err) { /* fall through */ }
    }
    const bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // The server counts characters as code points, not UTF-16 units (emoji count as one).
  const charCount = (text) => Array.from(text).length;
  const fmt = (n) => n.toLocaleString(lang === "ja" ? "ja-JP" : "en-US");

  function warn() {
    if (window.console && console.warn) console.warn.apply(console, ["[kakehashi]"].concat(Array.from(arguments)));
  }

  // ---- HTML cleaning (defence in depth; the server already sanitised `html`) ---------------

  // Elements that never belong in a chat answer; removed with their content.
  const DROP_TAGS = new Set([
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "link",
    "meta", "base", "form", "input", "button", "textarea", "select", "option", "template",
    "noscript", "svg", "math", "img", "picture", "source", "video", "audio", "track",
    "canvas", "portal", "slot",
  ]);
  const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite"]);

  function safeUrl(value) {
    // Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
    // eslint-disable-next-line no-control-regex
    const compact = String(value).replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
    return /^(https?:|mailto:)/i.test(compact);
  }

  function cleanHtml(html) {
    // A <template>'s content is inert: nothing runs or loads while we inspect it.
    const tpl = document.createElement("template");
    tpl.innerHTML = String(html);
    const nodes = Array.from(tpl.content.querySelectorAll("*"));
    for (const node of nodes) {
      if (DROP_TAGS.has(node.localName)) {
        node.remove();
        continue;
      }
      for (const a of Array.from(node.attributes)) {
        const name = a.name.toLowerCase();
        if (name.indexOf("on") === 0 || name === "style" || name === "srcdoc" || name === "srcset" ||
            name === "id" || name === "slot" || name === "is") {
          node.removeAttribute(a.name);
        } else if (URL_ATTRS.has(name) && !safeUrl(a.value)) {
          node.removeAttribute(a.name);
        }
      }
      if (node.localName === "a") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    }
    // Comments and processing instructions are harmless but pointless; drop them too.
    const walker = document.createTreeWalker(tpl.content, NodeFilter.SHOW_COMMENT);
    const comments = [];
    while (walker.nextNode()) comments.push(walker.currentNode);
    comments.forEach((c) => c.remove());
    return tpl.content;
  }

  // ---- Styles (all inside the shadow root; px only, because rem follows the host's <html>) ----

  const CSS = `
:host { all: initial !important; display: block !important; position: fixed !important;
  top: 0 !important; left: 0 !important; width: 0 !important; height: 0 !important;
  z-index: 2147483000 !important; visibility: visible !important; }
.kk-root { font: 400 15px/1.5 system-ui, -apple-system, "Segoe UI", "Hiragino Sans",
  "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Yu Gothic UI", Meiryo, Roboto, Arial, sans-serif;
  color: #111827; letter-spacing: normal; text-align: left; text-transform: none;
  -webkit-text-size-adjust: 100%; }
.kk-root *, .kk-root *::before, .kk-root *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; margin: 0; border: 0; background: none; cursor: pointer;
  -webkit-appearance: none; appearance: none; }
button:disabled { cursor: default; }
:focus { outline: none; }
:focus-visible { outline: 3px solid #0b1f4d; outline-offset: 2px; }
.kk-sr { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

.kk-launcher { position: fixed; right: 20px; bottom: 20px; width: 60px; height: 60px;
  border-radius: 50%; background: #1d4ed8; color: #fff; display: flex; align-items: center;
  justify-content: center; box-shadow: 0 6px 20px rgba(0,0,0,.28); transition: transform .15s; }
.kk-launcher:hover { background: #1e40af; transform: scale(1.05); }
.kk-launcher:focus-visible { outline: 3px solid #fff; box-shadow: 0 0 0 6px #0b1f4d; }
.kk-launcher svg { width: 28px; height: 28px; fill: currentColor; }
.kk-badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #b91c1c; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 22px; text-align: center; border: 2px solid #fff; }

.kk-panel { position: fixed; right: 20px; bottom: 92px; width: 380px; max-width: calc(100vw - 40px);
  height: 600px; max-height: calc(100vh - 112px); display: flex; flex-direction: column;
  background: #fff; border: 1px solid #d1d5db; border-radius: 14px; overflow: hidden;
  box-shadow: 0 16px 48px rgba(0,0,0,.28); animation: kk-in .18s ease-out; }
.kk-left .kk-launcher { right: auto; left: 20px; }
.kk-left .kk-panel { right: auto; left: 20px; }
@keyframes kk-in { from { opacity: 0; transform: translateY(12px); } to { opacity: 1; transform: none; } }
@media (max-width: 479.98px) {
  .kk-panel, .kk-left .kk-panel { top: 0; right: 0; bottom: 0; left: 0; width: 100%; max-width: none;
    height: 100%; max-height: none; border: 0; border-radius: 0; }
}

.kk-header { display: flex; align-items: center; gap: 8px; padding: 10px 8px 10px 16px;
  background: #1d4ed8; color: #fff; flex: none; }
.kk-title { flex: 1; margin: 0; font-size: 16px; font-weight: 700; line-height: 1.3; color: #fff;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.kk-close { width: 40px; height: 40px; border-radius: 8px; color: #fff; font-size: 24px; line-height: 1; }
.kk-close:hover { background: rgba(255,255,255,.15); }
.kk-close:focus-visible { outline: 3px solid #fff; outline-offset: -3px; }

.kk-banner { flex: none; padding: 8px 16px; font-size: 13px; line-height: 1.4; border-bottom: 1px solid #e5e7eb; }
.kk-conn { background: #fef3c7; color: #713f12; }
.kk-state { background: #eff6ff; color: #1e3a8a; }
.kk-state[data-state="closed"] { background: #f3f4f6; color: #1f2937; }
.kk-state button { display: inline-block; margin-top: 6px; padding: 6px 12px; border-radius: 8px;
  background: #1d4ed8; color: #fff; font-weight: 600; }

.kk-body { flex: 1; overflow-y: auto; padding: 16px; overscroll-behavior: contain; background: #fff; }
.kk-log { display: flex; flex-direction: column; gap: 12px; }
.kk-msg { display: flex; flex-direction: column; align-items: flex-start; max-width: 88%; }
.kk-msg[data-role="customer"] { align-self: flex-end; align-items: flex-end; }
.kk-msg[data-role="system"], .kk-msg[data-kind="notice"] { align-self: center; align-items: center;
  max-width: 92%; text-align: center; }
.kk-author { font-size: 12px; font-weight: 600; color: #374151; margin: 0 4px 2px; }
.kk-bubble { padding: 8px 12px; border-radius: 16px 16px 16px 4px; background: #f1f5f9; color: #111827;
  overflow-wrap: anywhere; max-width: 100%; }
.kk-msg[data-role="customer"] .kk-bubble { background: #1d4ed8; color: #fff; white-space: pre-wrap;
  border-radius: 16px 16px 4px 16px; }
.kk-msg[data-role="agent"] .kk-bubble { background: #ecfdf5; border: 1px solid #a7f3d0; }
.kk-msg[data-role="system"] .kk-bubble, .kk-msg[data-kind="notice"] .kk-bubble { background: none;
  padding: 2px 8px; color: #4b5563; font-size: 13px; }
.kk-msg[data-status="failed"] .kk-bubble { background: #fee2e2; color: #7f1d1d; }
.kk-msg[data-status="sending"] .kk-bubble { opacity: .75; }
.kk-plain { white-space: pre-wrap; }
.kk-bubble p { margin: 0 0 8px; } .kk-bubble p:last-child { margin-bottom: 0; }
.kk-bubble ul, .kk-bubble ol { margin: 4px 0 8px; padding-left: 22px; }
.kk-bubble h1, .kk-bubble h2, .kk-bubble h3, .kk-bubble h4, .kk-bubble h5, .kk-bubble h6 {
  margin: 4px 0 6px; font-size: 15px; font-weight: 700; }
.kk-bubble a { color: #1d4ed8; text-decoration: underline; }
.kk-bubble a:not([href]) { color: inherit; text-decoration: none; }
.kk-empty { margin: 24px 8px; text-align: center; color: #4b5563; font-size: 14px; }
.kk-bubble code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px;
  background: #e2e8f0; padding: 1px 4px; border-radius: 4px; }
.kk-bubble pre { overflow-x: auto; background: #e2e8f0; padding: 8px; border-radius: 6px; }
.kk-bubble pre code { padding: 0; }
.kk-bubble blockquote { margin: 4px 0; padding-left: 10px; border-left: 3px solid #cbd5e1; color: #374151; }
.kk-bubble table { border-collapse: collapse; font-size: 13px; display: block; overflow-x: auto; }
.kk-bubble th, .kk-bubble td { border: 1px solid #cbd5e1; padding: 3px 6px; }
.kk-sources { list-style: none; margin: 4px 4px 0; padding: 0; font-size: 13px; color: #374151; }
.kk-sources a { color: #1d4ed8; text-decoration: underline; }
.kk-feedback { display: flex; align-items: center; gap: 6px; margin: 4px 2px 0; }
.kk-feedback button { width: 34px; height: 30px; border-radius: 15px; border: 1px solid #d1d5db;
  background: #fff; font-size: 15px; line-height: 1; }
.kk-feedback button:hover { background: #f3f4f6; }
.kk-feedback button[aria-pressed="true"] { background: #dbeafe; border-color: #1d4ed8; }
.kk-thanks { font-size: 12px; color: #4b5563; }
.kk-status { font-size: 12px; color: #4b5563; margin: 2px 4px 0; }
.kk-msg[data-status="failed"] .kk-status { color: #b91c1c; }
.kk-status button { color: #1d4ed8; text-decoration: underline; font-weight: 600; margin-left: 6px; padding: 2px; }

.kk-contact { display: flex; flex-direction: column; gap: 6px; }
.kk-actions { display: flex; flex-wrap: wrap; gap: 8px; }
.kk-end { display: inline-block; margin-bottom: 8px; padding: 5px 12px; border-radius: 15px;
  border: 1px solid #6b7280; color: #374151; font-size: 13px; font-weight: 600; background: #fff; }
.kk-end:hover:not(:disabled) { background: #f3f4f6; }
.kk-end:disabled { color: #6b7280; }
.kk-confirm { margin-bottom: 8px; padding: 8px 10px; border-radius: 10px; background: #fef2f2;
  border: 1px solid #fecaca; font-size: 14px; }
.kk-confirm p { margin: 0 0 6px; }
.kk-confirm button { padding: 5px 12px; border-radius: 8px; font-weight: 600; margin-right: 6px;
  border: 1px solid #6b7280; background: #fff; }
.kk-confirm button.kk-danger { background: #b91c1c; border-color: #b91c1c; color: #fff; }
.kk-csat { margin-top: 16px; padding: 12px; border: 1px solid #d1d5db; border-radius: 12px;
  background: #f9fafb; text-align: center; }
.kk-csat-q { margin: 0 0 8px; font-weight: 700; }
.kk-csat-scores { display: flex; justify-content: center; gap: 4px; }
.kk-csat-scores button { display: flex; flex-direction: column; align-items: center; width: 62px;
  padding: 6px 2px; border-radius: 10px; border: 1px solid transparent; font-size: 11px;
  line-height: 1.2; color: #374151; }
.kk-csat-scores button:hover:not(:disabled) { background: #eff6ff; }
.kk-csat-scores button[aria-pressed="true"] { background: #dbeafe; border-color: #1d4ed8; color: #1e3a8a; }
.kk-csat-face { font-size: 26px; line-height: 1.2; }
.kk-csat-thanks { margin: 8px 0 0; color: #065f46; font-weight: 600; }
.kk-csat form { display: flex; flex-direction: column; gap: 6px; margin-top: 8px; text-align: left; }
.kk-csat form .kk-send { align-self: flex-end; height: 36px; }
.kk-contact .kk-input { width: 100%; box-sizing: border-box; }
.kk-typing { display: flex; gap: 4px; align-items: center; width: max-content; margin-top: 12px;
  padding: 12px 14px; border-radius: 16px 16px 16px 4px; background: #f1f5f9; }
.kk-dot { width: 7px; height: 7px; border-radius: 50%; background: #4b5563; animation: kk-bounce 1.2s infinite ease-in-out; }
.kk-dot:nth-child(2) { animation-delay: .15s; } .kk-dot:nth-child(3) { animation-delay: .3s; }
@keyframes kk-bounce { 0%, 60%, 100% { transform: translateY(0); opacity: .5; } 30% { transform: translateY(-5px); opacity: 1; } }
@media (prefers-reduced-motion: reduce) {
  .kk-panel { animation: none; } .kk-launcher { transition: none; }
  .kk-dot { animation: kk-fade 1.6s infinite; }
  @keyframes kk-fade { 50% { opacity: .3; } }
}

.kk-composer { flex: none; border-top: 1px solid #e5e7eb; padding: 8px 12px 12px; background: #fff; }
.kk-handoff { display: inline-block; margin-bottom: 8px; padding: 5px 12px; border-radius: 15px;
  border: 1px solid #1d4ed8; color: #1d4ed8; font-size: 13px; font-weight: 600; background: #fff; }
.kk-handoff:hover:not(:disabled) { background: #eff6ff; }
.kk-handoff:disabled { border-color: #9ca3af; color: #4b5563; }
.kk-row { display: flex; gap: 8px; align-items: flex-end; }
.kk-input { flex: 1; min-width: 0; resize: none; min-height: 42px; max-height: 140px; margin: 0;
  padding: 9px 12px; border: 1px solid #6b7280; border-radius: 10px; background: #fff; color: #111827;
  font: inherit; font-size: 16px; line-height: 1.4; }
.kk-input::placeholder { color: #6b7280; opacity: 1; }
.kk-input:focus-visible { outline: 3px solid #0b1f4d; outline-offset: 0; }
.kk-input:disabled { background: #f3f4f6; }
.kk-send { flex: none; height: 42px; padding: 0 16px; border-radius: 10px; background: #1d4ed8;
  color: #fff; font-weight: 700; }
.kk-send:hover:not(:disabled) { background: #1e40af; }
.kk-send:disabled { background: #e5e7eb; color: #4b5563; }
.kk-counter { font-size: 12px; color: #4b5563; text-align: right; margin-top: 4px; }
.kk-counter[data-over="true"] { color: #b91c1c; font-weight: 700; }
`;

  // Static markup only: nothing from the server, the page or the customer is interpolated.
  const CHAT_ICON =
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M12 3C6.5 3 2 6.6 2 11c0 2.4 ' +
    "1.3 4.5 3.4 6L4.6 21l4.3-2.3c1 .3 2 .4 3.1.4 5.5 0 10-3.6 10-8s-4.5-8-10-8zm-4 9.2a1.2 1.2 0 1 1 0-2.4 " +
    "1.2 1.2 0 0 1 0 2.4zm4 0a1.2 1.2 0 1 1 0-2.4 1.2 1.2 0 0 1 0 2.4zm4 0a1.2 1.2 0 1 1 0-2.4 1.2 1.2 0 0 1 " +
    '0 2.4z"/></svg>';
  const CLOSE_ICON =
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6.4 5L5 6.4 10.6 12 5 17.6 6.4 19 ' +
    '12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z"/></svg>';

  // ---- Building the UI ---------------------------------------------------------------------

  function build() {
    const host = el("kakehashi-widget", { "data-kakehashi": "" });
    const root = host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);

    const wrap = el("div", { class: "kk-root" + (position === "left" ? " kk-left" : ""), lang });

    const launcher = el("button", {
      type: "button", class: "kk-launcher", "data-testid": "launcher",
      "aria-label": t.open, "aria-expanded": "false", "aria-controls": "kk-panel",
    });
    launcher.innerHTML = CHAT_ICON;
    const badge = el("span", { class: "kk-badge", "aria-hidden": "true", hidden: true });
    launcher.appendChild(badge);

    const titleEl = el("h2", { class: "kk-title", id: "kk-title", text: title });
    const closeBtn = el("button", { type: "button", class: "kk-close", "aria-label": t.close, "data-testid": "close" });
    closeBtn.textContent = "×";
    const header = el("div", { class: "kk-header" }, [titleEl, closeBtn]);

    const connBanner = el("div", { class: "kk-banner kk-conn", role: "status", "data-testid": "connection-banner", hidden: true });
    const stateText = el("span");
    const newBtn = el("button", { type: "button", "data-testid": "new-conversation", hidden: true, text: t.newConversation });
    const stateBanner = el("div", { class: "kk-banner kk-state", role: "status", "data-testid": "state-banner", hidden: true },
      [stateText, el("br"), newBtn]);
    // Offline follow-up: outside business hours or with nobody online, the customer can
    // leave an e-mail address; the conversation stays in the queue.
    const contactEmail = el("input", { type: "email", class: "kk-input", required: true,
      "aria-label": t.contactEmail, placeholder: t.contactEmail, "data-testid": "contact-email" });
    const contactMessage = el("textarea", { class: "kk-input", rows: 2, "aria-label": t.contactMessage,
      placeholder: t.contactMessage, "data-testid": "contact-message" });
    const contactSend = el("button", { type: "submit", class: "kk-send", text: t.contactSend,
      "data-testid": "contact-send" });
    const contactForm = el("form", { class: "kk-banner kk-contact", "data-testid": "contact-form", hidden: true },
      [el("p", { text: t.contactIntro }), contactEmail, contactMessage, contactSend]);

    const log = el("div", { class: "kk-log", role: "log", "aria-live": "polite", "aria-label": t.log, "data-testid": "log" });
    const typingText = el("span", { class: "kk-sr", text: t.typingBot });
    const typing = el("div", { class: "kk-typing", "data-testid": "typing-indicator", role: "status", hidden: true }, [
      el("span", { class: "kk-dot", "aria-hidden": "true" }), el("span", { class: "kk-dot", "aria-hidden": "true" }),
      el("span", { class: "kk-dot", "aria-hidden": "true" }), typingText,
    ]);
    const empty = el("p", { class: "kk-empty", text: t.empty });
    // Once the conversation has ended: "How was your conversation?" (built by renderCsat
    // from the texts the server sends in the conversation's language).
    const csat = el("section", { class: "kk-csat", "data-testid": "csat", "aria-labelledby": "kk-csat-q", hidden: true });
    const body = el("div", { class: "kk-body" }, [empty, log, typing, csat]);

    const handoff = el("button", { type: "button", class: "kk-handoff", "data-testid": "handoff", text: t.handoff });
    const endBtn = el("button", { type: "button", class: "kk-end", "data-testid": "end-chat", "aria-haspopup": "true",
      hidden: true, text: t.endChat });
    const endYes = el("button", { type: "button", class: "kk-danger", "data-testid": "end-confirm", text: t.endConfirmYes });
    const endNo = el("button", { type: "button", "data-testid": "end-cancel", text: t.endCancel });
    const endConfirm = el("div", { class: "kk-confirm", role: "group", "aria-labelledby": "kk-end-q",
      "data-testid": "end-confirmation", hidden: true }, [el("p", { id: "kk-end-q", text: t.endConfirm }), endYes, endNo]);
    const input = el("textarea", {
      class: "kk-input", id: "kk-input", rows: 1, placeholder: t.placeholder, "aria-label": t.inputLabel,
      "aria-describedby": "kk-counter", "data-testid": "input", autocomplete: "off",
    });
    const send = el("button", { type: "button", class: "kk-send", "data-testid": "send", disabled: true, text: t.send });
    const counter = el("div", { class: "kk-counter", id: "kk-counter", "data-testid": "counter", hidden: true });
    const composer = el("div", { class: "kk-composer" }, [
      endConfirm, el("div", { class: "kk-actions" }, [handoff, endBtn]), el("div", { class: "kk-row" }, [input, send]), counter,
    ]);

    const panel = el("div", {
      class: "kk-panel", id: "kk-panel", role: "dialog", "aria-label": attr("data-title") || t.dialog,
      "data-testid": "panel", hidden: true,
    }, [header, connBanner, stateBanner, contactForm, body, composer]);

    wrap.appendChild(launcher);
    wrap.appendChild(panel);
    root.appendChild(wrap);
    document.body.appendChild(host);

    ui = { host, root, launcher, badge, panel, closeBtn, connBanner, stateBanner, stateText, newBtn,
      body, empty, log, typing, typingText, handoff, input, send, counter, contactForm, contactEmail,
      contactMessage, csat, endBtn, endConfirm, endYes };

    contactForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const email = contactEmail.value.trim();
      if (!email) return;
      if (sendRaw({ type: "contact", email, message: contactMessage.value.trim() })) {
        S.contactSent = true;
        contactForm.hidden = true;
      }
    });

    launcher.addEventListener("click", () => (S.open ? closePanel(true) : openPanel()));
    closeBtn.addEventListener("click", () => closePanel(true));
    wrap.addEventListener("keydown", (e) => {
      if (S.open && (e.key === "Escape" || e.key === "Esc")) {
        e.preventDefault();
        closePanel(true);
      }
    });
    input.addEventListener("keydown", (e) => {
      // Never send while an IME is composing (Japanese input confirms with Enter).
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submit();
      }
    });
    input.addEventListener("input", () => {
      updateComposer();
      noteTyping();
    });
    send.addEventListener("click", submit);
    handoff.addEventListener("click", requestHandoff);
    endBtn.addEventListener("click", () => showEndConfirm(true));
    endNo.addEventListener("click", () => showEndConfirm(false));
    endYes.addEventListener("click", endChat);
    endConfirm.addEventListener("keydown", (e) => {
      if (e.key === "Escape" || e.key === "Esc") {
        e.stopPropagation(); // cancel the question, keep the panel open
        showEndConfirm(false);
      }
    });
    newBtn.addEventListener("click", startNewConversation);

    updateComposer();
    updateChrome();
  }

  // ---- Opening and closing -----------------------------------------------------------------

  function openPanel() {
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

  function closePanel(returnFocus) {
    if (!ui || !S.open) return;
    S.open = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.innerHTML = CHAT_ICON;
    ui.launcher.appendChild(ui.badge);
    updateBadge();
    if (returnFocus) ui.launcher.focus();
  }

  function updateBadge() {
    if (!ui) return;
    ui.badge.hidden = S.unread === 0 || S.open;
    ui.badge.textContent = S.unread > 9 ? "9+" : String(S.unread);
    // The label stays "Open chat" while open (aria-expanded carries the state), as the
    // ARIA disclosure pattern asks; it only mentions unread messages.
    ui.launcher.setAttribute("aria-label", S.unread && !S.open ? t.openUnread(S.unread) : t.open);
  }

  // ---- Connection --------------------------------------------------------------------------

  function sendRaw(event) {
    const ws = S.ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(JSON.stringify(event));
      return true;
    } catch (err) {
      warn("send failed", err);
      return false;
    }
  }

  function sendHello() {
    sendRaw({ type: "hello", token: S.token, last_seq: S.lastSeq, lang });
  }

  function connect() {
    if (S.ws) return; // already connecting or connected
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = null;
    let ws;
    try {
      ws = new WebSocket(wsUrl);
    } catch (err) {
      warn("cannot open", wsUrl, err);
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    updateChrome();
    ws.onopen = () => {
      if (ws === S.ws) sendHello();
    };
    ws.onmessage = (ev) => {
      if (ws !== S.ws) return; // a frame from a socket we have already given up on
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch (err) {
        warn("ignoring a frame that is not JSON");
        return;
      }
      try {
        handleEvent(data);
      } catch (err) {
        warn("error while handling", data && data.type, err); // never let one event break the widget
      }
    };
    ws.onerror = () => {}; // a close event always follows; handled there
    ws.onclose = () => {
      if (ws !== S.ws) return;
      S.ws = null;
      S.connected = false;
      S.typingActive = false;
      hidePeerTyping();
      updateChrome();
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (S.reconnectTimer) return;
    // 0.5 s, 1 s, 2 s … capped at 30 s, each ±20 % so many clients don't retry in step.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, S.attempt));
    const delay = Math.min(BACKOFF_MAX_MS, base * (0.8 + Math.random() * 0.4));
    S.attempt += 1;
    S.reconnectTimer = setTimeout(() => {
      S.reconnectTimer = null;
      connect();
    }, delay);
    updateChrome();
  }

  // Drop the current socket on purpose and open a fresh one straight away.
  function reconnectNow() {
    const old = S.ws;
    S.ws = null;
    S.connected = false;
    if (old) {
      try { old.close(1000); } catch (err) { /* already closing */ }
    }
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = null;
    S.attempt = 0;
    connect();
  }

  window.addEventListener("online", () => {
    // The network is back: don't sit out the rest of a long back-off.
    if (!S.connected && S.reconnectTimer) {
      S.attempt = 0;
      clearTimeout(S.reconnectTimer);
      S.reconnectTimer = null;
      connect();
    }
  });

  // ---- Server events -----------------------------------------------------------------------

  function handleEvent(ev) {
    if (!ev || typeof ev !== "object") return;
    switch (ev.type) {
      case "welcome":
        onWelcome(ev);
        break;
      case "message":
        renderMessage(ev);
        break;
      case "typing":
        onPeerTyping(ev);
        break;
      case "state":
        setConversationState(ev);
        break;
      case "feedback":
        if (typeof ev.seq === "number") setFeedback(ev.seq, ev.helpful, true);
        break;
      case "rated":
        onRated(ev);
        break;
      case "error":
        onError(ev);
        break;
      default:
        break; // unknown events from a newer server are ignored
    }
  }

  function onWelcome(ev) {
    S.connected = true;
    S.everConnected = true;
    S.attempt = 0;
    if (typeof ev.token === "string") S.token = ev.token;
    if (typeof ev.state === "string") S.conversationState = ev.state;
    if (typeof ev.conversation_id === "string") S.conversationId = ev.conversation_id;
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
      resetTranscript(false);
      saveStored();
      sendHello();
      return;
    }
    if (code === "hello_required") {
      sendHello();
      return;
    }
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

  function onPeerTyping(ev) {
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

  function hidePeerTyping() {
    clearTimeout(S.peerTypingTimer);
    if (ui) ui.typing.hidden = true;
  }

  function setConversationState(ev) {
    if (typeof ev.state !== "string") return;
    const focusWasOnEnd = ui.root.activeElement === ui.endYes;
    S.conversationState = ev.state;
    S.handoffRequested = false;
    const banner = ui.stateBanner;
    banner.setAttribute("data-state", ev.state);
    ui.newBtn.hidden = ev.state !== "closed";
    if (ev.state === "waiting") {
      const pos = Number.isInteger(ev.queue_position) && ev.queue_position > 0 ? ev.queue_position : null;
      const secs = typeof ev.estimated_wait_seconds === "number" ? ev.estimated_wait_seconds : null;
      const mins = secs == null ? null : Math.max(1, Math.round(secs / 60));
      ui.stateText.textContent = t.waiting(pos, mins);
    } else if (ev.state === "agent") {
      ui.stateText.textContent = t.agentState;
    } else if (ev.state === "closed") {
      ui.stateText.textContent = t.closed;
      hidePeerTyping();
      stopTyping();
      ui.endConfirm.hidden = true;
      if (ev.csat && typeof ev.csat === "object") S.csat = ev.csat;
    } else {
      ui.stateText.textContent = "";
    }
    banner.hidden = !(ev.state === "waiting" || ev.state === "agent" || ev.state === "closed");
    ui.contactForm.hidden = !(ev.state === "waiting" && ev.offline === true && !S.contactSent);
    updateChrome();
    const wasHidden = ui.csat.hidden;
    renderCsat();
    if (wasHidden && !ui.csat.hidden) {
      scrollToBottom(true);
      // The customer just confirmed "End chat": take them straight to the question.
      if (focusWasOnEnd) ui.csat.querySelector("[data-score]").focus();
    }
  }

  // ---- Messages ----------------------------------------------------------------------------

  function renderMessage(m) {
    if (typeof m.seq !== "number") return;
    const seq = m.seq;
    if (S.bySeq.has(seq)) return; // replay or resend echo we already show

    let node;
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
    scrollToBottom(m.role === "customer");
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
    const node = el("div", { class: "kk-msg", "data-testid": "message", "data-role": role, "data-kind": kind });
    node.appendChild(el("span", { class: "kk-sr", text: speakerLabel(m) + ": " }));
    if (role === "agent") {
      node.appendChild(el("div", { class: "kk-author", "aria-hidden": "true", text: speakerLabel(m) }));
    }

    const bubble = el("div", { class: "kk-bubble" });
    if (role !== "customer" && typeof m.html === "string" && m.html) {
      bubble.appendChild(cleanHtml(m.html)); // the one place server HTML is inserted
    } else {
      bubble.classList.add("kk-plain");
      bubble.textContent = typeof m.text === "string" ? m.text : "";
    }
    node.appendChild(bubble);

    if (Array.isArray(m.citations) && m.citations.length && role !== "customer") {
      const list = el("ul", { class: "kk-sources" });
      for (const c of m.citations) {
        if (!c || typeof c !== "object") continue;
        const label = t.source + " " + (c.title || c.article_id || "");
        const li = el("li");
        if (typeof c.url === "string" && safeUrl(c.url)) {
          li.appendChild(el("a", {
            href: c.url, target: "_blank", rel: "noopener noreferrer", "data-testid": "citation", text: label,
          }));
        } else {
          li.appendChild(el("span", { "data-testid": "citation", text: label }));
        }
        list.appendChild(li);
      }
      node.appendChild(list);
    }

    if (role === "bot" && (kind === "answer" || kind === "suggestions")) {
      node.appendChild(buildFeedback(m.seq));
      if (m.feedback === true || m.feedback === false) setFeedbackOn(node, m.feedback, false);
    }
    return node;
  }

  function buildFeedback(seq) {
    const up = el("button", {
      type: "button", "aria-label": t.helpful, "aria-pressed": "false", "data-testid": "feedback-up", "data-helpful": "true",
    }, [el("span", { "aria-hidden": "true", text: "👍" })]);
    const down = el("button", {
      type: "button", "aria-label": t.notHelpful, "aria-pressed": "false", "data-testid": "feedback-down", "data-helpful": "false",
    }, [el("span", { "aria-hidden": "true", text: "👎" })]);
    const thanks = el("span", { class: "kk-thanks", hidden: true, text: t.feedbackThanks });
    const group = el("div", { class: "kk-feedback", role: "group", "aria-label": t.feedbackGroup }, [up, down, thanks]);
    const onClick = (e) => {
      const helpful = e.currentTarget.getAttribute("data-helpful") === "true";
      if (!S.connected) return; // feedback isn't queued: it would race the replay
      if (sendRaw({ type: "feedback", seq, helpful })) setFeedback(seq, helpful, false);
    };
    up.addEventListener("click", onClick);
    down.addEventListener("click", onClick);
    return group;
  }

  function setFeedback(seq, helpful, acknowledged) {
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
  function resetTranscript(dropPending) {
    S.bySeq.forEach((node) => node.remove());
    S.bySeq.clear();
    S.lastSeq = 0;
    S.seenBefore = 0;
    if (dropPending) {
      S.pending.forEach((p) => p.el.remove());
      S.pending.clear();
    }
    hidePeerTyping();
    ui.empty.hidden = ui.log.children.length > 0;
  }

  // ---- Composing and sending ---------------------------------------------------------------

  function updateComposer() {
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

  function submit() {
    const text = ui.input.value;
    if (ui.send.disabled || text.trim() === "" || charCount(text) > MAX_CHARS) return;
    const clientId = uuid();
    const node = el("div", {
      class: "kk-msg", "data-testid": "message", "data-role": "customer", "data-kind": "text",
      "data-status": "sending", "data-client-id": clientId,
    }, [el("span", { class: "kk-sr", text: t.you + ": " }), el("div", { class: "kk-bubble", text })]);
    node.appendChild(el("div", { class: "kk-status", text: S.connected ? t.sending : t.queued }));
    S.pending.set(clientId, { text, el: node, failed: false });
    ui.log.appendChild(node);
    ui.empty.hidden = true;
    ui.input.value = "";
    updateComposer();
    stopTyping();
    if (S.connected) sendMessage(clientId);
    else connect(); // no-op if a reconnect is already under way
    scrollToBottom(true);
    ui.input.focus();
  }

  function sendMessage(clientId) {
    const p = S.pending.get(clientId);
    if (!p) return;
    const ok = sendRaw({ type: "message", client_id: clientId, text: p.text });
    setStatus(p.el, ok ? t.sending : t.queued);
  }

  function setStatus(node, text) {
    let status = node.querySelector(".kk-status");
    if (!status) {
      status = el("div", { class: "kk-status" });
      node.appendChild(status);
    }
    status.textContent = text;
  }

  function markFailed(clientId, message) {
    const p = S.pending.get(clientId);
    if (!p) return;
    p.failed = true;
    p.el.setAttribute("data-status", "failed");
    const status = el("div", { class: "kk-status", role: "alert" });
    status.appendChild(el("span", { text: t.failed + ": " + message }));
    const retry = el("button", { type: "button", "data-testid": "retry", text: t.retry });
    retry.addEventListener("click", () => {
      p.failed = false;
      p.el.setAttribute("data-status", "sending");
      status.remove();
      if (S.connected) sendMessage(clientId); // same client_id: the server won't store it twice
      else setStatus(p.el, t.queued);
    });
    status.appendChild(retry);
    const old = p.el.querySelector(".kk-status");
    if (old) old.remove();
    p.el.appendChild(status);
  }

  function requestHandoff() {
    if (!S.connected || S.handoffRequested) return;
    if (sendRaw({ type: "handoff_request" })) {
      S.handoffRequested = true; // disabled until the `state` event arrives
      updateChrome();
    }
  }

  // ---- Ending the chat and rating it ---------------------------------------------------------

  function showEndConfirm(show) {
    ui.endConfirm.hidden = !show;
    if (show) ui.endYes.focus();
    else if (!ui.endBtn.hidden) ui.endBtn.focus();
  }

  function endChat() {
    if (!S.connected) return;
    // The question stays until the closed `state` arrives and the rating card replaces it.
    if (sendRaw({ type: "end" })) stopTyping();
  }

  const FACES = ["😞", "😟", "😐", "😊", "😄"];

  // The rating card follows S.csat (from the closed `state`, then each `rated`).
  function renderCsat() {
    const c = S.csat;
    const show = S.conversationState === "closed" && !!c && !!c.texts && (c.open || c.rated);
    ui.csat.hidden = !show;
    if (!show) return;
    const texts = JSON.stringify(c.texts);
    if (texts !== S.csatTexts) buildCsat(c.texts);
    S.csatTexts = texts;
    ui.csat.querySelectorAll("[data-score]").forEach((b) => {
      b.setAttribute("aria-pressed", String(Number(b.getAttribute("data-score")) === c.score));
      b.disabled = !c.open;
    });
    ui.csat.querySelector(".kk-csat-thanks").hidden = !c.rated;
    ui.csat.querySelector("form").hidden = !(c.rated && c.open);
  }

  function buildCsat(texts) {
    const choices = Array.isArray(texts.choices) ? texts.choices : [];
    const scores = el("div", { class: "kk-csat-scores", role: "group", "aria-labelledby": "kk-csat-q" });
    FACES.forEach((face, i) => {
      const button = el("button", { type: "button", "data-testid": "csat-score", "data-score": i + 1, "aria-pressed": "false" },
        [el("span", { class: "kk-csat-face", "aria-hidden": "true", text: face }), el("span", { text: String(choices[i] || i + 1) })]);
      button.addEventListener("click", () => sendRating(i + 1, S.csat && S.csat.comment));
      scores.appendChild(button);
    });
    const comment = el("textarea", { class: "kk-input", rows: 2, "data-testid": "csat-comment",
      "aria-label": texts.comment_prompt, placeholder: texts.comment_prompt });
    const form = el("form", { "data-testid": "csat-comment-form", hidden: true }, [
      comment, el("button", { type: "submit", class: "kk-send", "data-testid": "csat-comment-send", text: texts.comment_send }),
    ]);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (S.csat && S.csat.score) sendRating(S.csat.score, comment.value.trim());
    });
    comment.value = (S.csat && S.csat.comment) || "";
    ui.csat.textContent = "";
    ui.csat.appendChild(el("p", { class: "kk-csat-q", id: "kk-csat-q", text: texts.question }));
    ui.csat.appendChild(scores);
    ui.csat.appendChild(el("p", { class: "kk-csat-thanks", role: "status", "data-testid": "csat-thanks", hidden: true,
      text: texts.thanks }));
    ui.csat.appendChild(form);
  }

  function sendRating(score, comment) {
    if (!S.connected || !S.csat || !S.csat.open) return;
    sendRaw({ type: "rate", score, comment: comment || null }); // acknowledged by `rated`
  }

  function onRated(ev) {
    if (!S.csat || typeof ev.score !== "number") return;
    S.csat.rated = true;
    S.csat.score = ev.score;
    S.csat.comment = typeof ev.comment === "string" ? ev.comment : null;
    renderCsat();
    scrollToBottom(false);
  }

  function startNewConversation() {
    S.token = null;
    S.conversationState = null;
    S.contactSent = false;
    S.csat = null;
    ui.contactForm.hidden = true;
    resetTranscript(true);
    saveStored();
    ui.stateBanner.hidden = true;
    ui.newBtn.hidden = true;
    renderCsat();
    reconnectNow(); // a fresh socket whose hello carries no token
    updateChrome();
    updateComposer();
    ui.input.focus();
  }

  // Our own typing events: true at most every 3 s while typing, false after 4 s idle.
  function noteTyping() {
    if (!S.connected) return;
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

  function stopTyping() {
    clearTimeout(S.typingIdleTimer);
    if (S.typingActive) {
      S.typingActive = false;
      sendRaw({ type: "typing", typing: false });
    }
  }

  // ---- Chrome: banners and buttons that follow connection and conversation state -----------

  function updateChrome() {
    if (!ui) return;
    const st = S.conversationState;
    const offline = !S.connected && (S.ws !== null || S.reconnectTimer !== null || S.everConnected);
    ui.connBanner.hidden = !offline;
    ui.connBanner.textContent = S.everConnected || S.attempt > 0 ? t.reconnecting : t.connecting;
    ui.handoff.hidden = st === "waiting" || st === "agent" || st === "closed";
    ui.handoff.disabled = !S.connected || S.handoffRequested;
    // Ending makes sense once something has been said; it asks for confirmation first.
    ui.endBtn.hidden = !(st === "bot" || st === "waiting" || st === "agent") || S.bySeq.size === 0;
    ui.endBtn.disabled = !S.connected;
    if (ui.endBtn.hidden) ui.endConfirm.hidden = true;
    ui.input.disabled = st === "closed";
    ui.empty.hidden = ui.log.children.length > 0;
    updateComposer();
  }

  function scrollToBottom(force) {
    if (!ui) return;
    const b = ui.body;
    const nearBottom = b.scrollHeight - b.scrollTop - b.clientHeight < 120;
    if (force || nearBottom) b.scrollTop = b.scrollHeight;
  }

  // ---- Start-up and the debug/test hook ----------------------------------------------------

  function start() {
    try { build(); } catch (err) { warn("could not start", err); return; }
    // A returning customer reconnects at once (to see replies that came meanwhile); a new
    // visitor connects when opening the chat, so browsing the shop creates no conversation.
    if (S.token) connect();
    if (pendingOpen) openPanel();
  }

  window.Kakehashi = {
    __loaded: true,
    open: () => openPanel(),
    close: () => closePanel(false),
    state: () => ({
      connected: S.connected,
      conversationState: S.conversationState,
      conversationId: S.conversationId,
      lastSeq: S.lastSeq,
      token: S.token,
    }),
  };

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
