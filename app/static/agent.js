/*
 * Kakehashi agent console.
 *
 * Loaded (defer) by app/templates/agent.html, which renders the shell: the root element
 * #kk-agent (data-lang, data-csrf, data-user-id, data-user-name), the three landmarks
 * (nav: queue, main: conversation, aside: context) and the canned responses.
 *
 * Dependency-free, ES2019, no build step. Speaks docs/agent-protocol.md over `/ws/agent`
 * (same origin, session cookie) and renders message events as described in
 * docs/protocol.md.
 *
 * Security rule: customer text, notes and every other field are set with textContent.
 * Only a bot/agent/system message's `html` (sanitised by the server) is inserted as HTML,
 * after cleaning it once more in an inert <template>.
 */
(function () {
  "use strict";

  // ---- Strings (all UI text lives here) ----------------------------------------------------

  const STRINGS = {
    en: {
      presenceLabel: "Your status:",
      presence: { online: "Online", away: "Away", offline: "Offline" },
      presenceSwitch: (s) => `Switch to ${s}`,
      closedHours: "Outside business hours: new requests become offline follow-ups.",
      queue: "Queue",
      queueEmpty: "No one is waiting.",
      myChats: "My chats",
      myChatsEmpty: "You have no open chats.",
      agents: "Agents",
      agentsEmpty: "No agents signed in.",
      you: "(you)",
      openChats: (n) => `${n} open`,
      unread: (n) => `${n} unread`,
      claim: "Claim",
      claiming: "Claiming…",
      claimFor: (preview) => `Claim: ${preview}`,
      reasons: {
        frustration: "Frustration",
        low_confidence: "Low confidence",
        customer_request: "Customer request",
      },
      sla: { ok: "SLA ok", near: "SLA near", breached: "SLA breached" },
      waiting: "Waiting",
      offline: "Offline follow-up",
      noPreview: "(no message)",
      langNames: { en: "English", ja: "Japanese" },
      states: { bot: "Bot", waiting: "Waiting", agent: "With agent", closed: "Closed" },
      conversation: "Conversation",
      conversationTitle: (id) => `Conversation ${id}`,
      noConversation: "Select a conversation from the queue or from your chats.",
      loading: "Loading…",
      meta: { lang: "Language", state: "State", agent: "Agent", reason: "Reason", outcome: "Outcome" },
      unassigned: "Unassigned",
      actions: "Conversation actions",
      handBack: "Hand back to bot",
      draftArticle: "Draft an article",
      draftCreated: (id) => `Draft article ${id} created for the editors`,
      transfer: "Transfer",
      close: "Close",
      transcript: "Transcript",
      roles: { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" },
      internalNote: "Internal note",
      sources: "Sources:",
      confidence: (pct) => `Confidence ${pct}%`,
      feedback: { true: "Customer: helpful", false: "Customer: not helpful" },
      customerTyping: "Customer is typing…",
      composerMode: "Composer mode",
      modeReply: "Reply to customer",
      modeNote: "Internal note",
      send: "Send",
      addNote: "Add note",
      placeholderReply: "Write a reply to the customer…",
      placeholderNote: "Write an internal note (never shown to the customer)…",
      placeholderClaim: "Claim this conversation to reply.",
      placeholderClosed: "This conversation is closed.",
      placeholderNotMine: "Another agent is handling this conversation.",
      hint: "Enter to send · Shift+Enter for a new line",
      counter: (n, max) => `${n} / ${max}`,
      sending: "Sending…",
      queuedSend: "Will be sent when the connection is back",
      notSent: "Not sent",
      retry: "Retry",
      discard: "Discard",
      transferTitle: "Transfer conversation",
      transferTo: "Transfer to",
      transferNone: "No other agent is online.",
      closeTitle: "Close conversation",
      outcome: "Outcome",
      outcomes: { resolved: "Resolved", not_resolved: "Not resolved", customer_ended: "Ended by the customer" },
      customerEnded: "The customer ended the chat.",
      csat: "Customer rating",
      csatScore: (n) => `${n} / 5`,
      csatScores: ["Very bad", "Bad", "Okay", "Good", "Very good"],
      tags: "Tags",
      tagsHint: "Separate tags with commas, e.g. returns, refund",
      confirmClose: "Close conversation",
      cancel: "Cancel",
      context: "Context",
      contextEmpty: "Open a conversation to see its context.",
      handoffReason: "Handoff reason",
      scores: "Scores",
      scoreNames: {
        frustration: "Frustration",
        confidence: "Confidence",
        consecutive_misses: "Consecutive misses",
      },
      yes: "yes",
      no: "no",
      summary: "Summary",
      summaryEmpty: "No summary yet.",
      contact: "Offline contact",
      email: "E-mail",
      contactMessage: "Message",
      suggestions: "Suggested articles",
      suggestionsEmpty: "No suggested articles.",
      insert: "Insert",
      canned: "Canned responses",
      cannedFilter: "Filter canned responses",
      cannedEmpty: "No canned responses match.",
      manageCanned: "Manage canned responses",
      tagsLabel: "Tags",
      connecting: "Connecting…",
      reconnecting: "Reconnecting…",
      reconnectNow: "Reconnect now",
      sessionEnded: "Your session has ended. Sign in again to keep working.",
      signIn: "Sign in",
      notConnected: "Not connected. Try again once the connection is back.",
      dismiss: "Dismiss",
      errors: {
        already_claimed: "Another agent already claimed this conversation",
        limit_reached: (n) =>
          n ? `You already have ${n} open chats, the most allowed. Close or transfer one first.`
            : "You have reached your limit of open chats.",
        not_owner: "Only the agent handling this conversation can do that.",
        not_found: "This conversation no longer exists.",
        unknown_conversation: "This conversation no longer exists.",
        conversation_closed: "This conversation is closed.",
        invalid_state: "That is not possible in the conversation's current state.",
        illegal_transition: "That is not possible in the conversation's current state.",
        forbidden: "You are not allowed to do that.",
        unknown_agent: "That agent is not available.",
        agent_unavailable: "That agent is not available.",
        text_too_long: "The message is too long (4,000 characters at most).",
        empty_text: "The message is empty.",
      },
      errorFallback: (code) => `Something went wrong (${code || "error"}).`,
      rated: "Rated",
    },
    ja: {
      presenceLabel: "ステータス:",
      presence: { online: "対応可能", away: "離席中", offline: "オフライン" },
      presenceSwitch: (s) => `「${s}」に切り替える`,
      closedHours: "営業時間外です。新しいお問い合わせはオフライン対応になります。",
      queue: "待機中",
      queueEmpty: "待っているお客様はいません。",
      myChats: "担当中のチャット",
      myChatsEmpty: "担当中のチャットはありません。",
      agents: "エージェント",
      agentsEmpty: "サインイン中のエージェントはいません。",
      you: "（自分）",
      openChats: (n) => `${n} 件対応中`,
      unread: (n) => `未読 ${n} 件`,
      claim: "担当する",
      claiming: "処理中…",
      claimFor: (preview) => `担当する: ${preview}`,
      reasons: {
        frustration: "不満",
        low_confidence: "低信頼度",
        customer_request: "お客様の希望",
      },
      sla: { ok: "SLA 内", near: "SLA 間近", breached: "SLA 超過" },
      waiting: "待ち時間",
      offline: "オフライン対応",
      noPreview: "（メッセージなし）",
      langNames: { en: "英語", ja: "日本語" },
      states: { bot: "ボット", waiting: "待機中", agent: "担当者対応中", closed: "終了" },
      conversation: "会話",
      conversationTitle: (id) => `会話 ${id}`,
      noConversation: "待機中の一覧か担当中のチャットから会話を選んでください。",
      loading: "読み込み中…",
      meta: { lang: "言語", state: "状態", agent: "担当者", reason: "理由", outcome: "結果" },
      unassigned: "未割り当て",
      actions: "会話の操作",
      handBack: "ボットに戻す",
      draftArticle: "記事の下書きを作成",
      draftCreated: (id) => `記事の下書き ${id} を作成しました`,
      transfer: "転送",
      close: "終了",
      transcript: "会話履歴",
      roles: { customer: "お客様", bot: "ボット", agent: "担当者", system: "システム" },
      internalNote: "社内メモ",
      sources: "出典:",
      confidence: (pct) => `信頼度 ${pct}%`,
      feedback: { true: "お客様の評価: 役に立った", false: "お客様の評価: 役に立たなかった" },
      customerTyping: "お客様が入力中…",
      composerMode: "入力モード",
      modeReply: "お客様へ返信",
      modeNote: "社内メモ",
      send: "送信",
      addNote: "メモを追加",
      placeholderReply: "お客様への返信を入力…",
      placeholderNote: "社内メモを入力（お客様には表示されません）…",
      placeholderClaim: "返信するには、この会話を担当してください。",
      placeholderClosed: "この会話は終了しています。",
      placeholderNotMine: "別のエージェントが対応中です。",
      hint: "Enter で送信 · Shift+Enter で改行",
      counter: (n, max) => `${n} / ${max}`,
      sending: "送信中…",
      queuedSend: "接続が戻ったら送信します",
      notSent: "未送信",
      retry: "再送信",
      discard: "破棄",
      transferTitle: "会話を転送",
      transferTo: "転送先",
      transferNone: "対応可能な他のエージェントがいません。",
      closeTitle: "会話を終了",
      outcome: "結果",
      outcomes: { resolved: "解決", not_resolved: "未解決", customer_ended: "お客様が終了" },
      customerEnded: "お客様がチャットを終了しました。",
      csat: "お客様の評価",
      csatScore: (n) => `${n} / 5`,
      csatScores: ["とても不満", "不満", "ふつう", "満足", "とても満足"],
      tags: "タグ",
      tagsHint: "カンマ区切りで入力（例: 返品, 返金）",
      confirmClose: "会話を終了する",
      cancel: "キャンセル",
      context: "コンテキスト",
      contextEmpty: "会話を開くと、ここに詳細が表示されます。",
      handoffReason: "引き継ぎ理由",
      scores: "スコア",
      scoreNames: {
        frustration: "不満度",
        confidence: "信頼度",
        consecutive_misses: "連続未回答",
      },
      yes: "はい",
      no: "いいえ",
      summary: "要約",
      summaryEmpty: "要約はまだありません。",
      contact: "オフライン連絡先",
      email: "メール",
      contactMessage: "メッセージ",
      suggestions: "おすすめの記事",
      suggestionsEmpty: "おすすめの記事はありません。",
      insert: "挿入",
      canned: "定型文",
      cannedFilter: "定型文を絞り込む",
      cannedEmpty: "一致する定型文はありません。",
      manageCanned: "定型文を管理",
      tagsLabel: "タグ",
      connecting: "接続しています…",
      reconnecting: "再接続しています…",
      reconnectNow: "今すぐ再接続",
      sessionEnded: "セッションが終了しました。もう一度サインインしてください。",
      signIn: "サインイン",
      notConnected: "接続されていません。接続が戻ってから、もう一度お試しください。",
      dismiss: "閉じる",
      errors: {
        already_claimed: "この会話は別のエージェントがすでに担当しています",
        limit_reached: (n) =>
          n ? `同時に対応できるチャットは ${n} 件までです。先にどれかを終了するか転送してください。`
            : "同時に対応できるチャット数の上限に達しています。",
        not_owner: "この操作は担当中のエージェントだけが行えます。",
        not_found: "この会話は存在しません。",
        unknown_conversation: "この会話は存在しません。",
        conversation_closed: "この会話は終了しています。",
        invalid_state: "現在の会話の状態ではその操作はできません。",
        illegal_transition: "現在の会話の状態ではその操作はできません。",
        forbidden: "その操作は許可されていません。",
        unknown_agent: "そのエージェントは対応できません。",
        agent_unavailable: "そのエージェントは対応できません。",
        text_too_long: "メッセージが長すぎます（4,000 文字まで）。",
        empty_text: "メッセージが空です。",
      },
      errorFallback: (code) => `エラーが発生しました（${code || "error"}）。`,
      rated: "評価日時",
    },
  };

  // ---- Constants -----------------------------------------------------------------------------

  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const TYPING_RESEND_MS = 3000; // typing:true at most this often
  const TYPING_IDLE_MS = 4000; // typing:false after this long without input
  const PEER_TYPING_TIMEOUT_MS = 8000; // hide the customer's indicator if no update arrives
  const MAX_TEXT = 4000; // code points, as the server counts
  const TOAST_MS = 15000;
  const PENDING_TIMEOUT_MS = 15000; // a reply not echoed by then is shown as not sent
  const ROLES = ["customer", "bot", "agent", "system"];
  const SLA_RANK = { ok: 0, near: 1, breached: 2 };

  const root = document.getElementById("kk-agent");
  const lang = root && root.getAttribute("data-lang") === "ja" ? "ja" : "en";
  const t = STRINGS[lang];

  // ---- State ---------------------------------------------------------------------------------

  const S = {
    ws: null,
    connected: false, // true between `welcome` and the socket closing
    everConnected: false,
    attempt: 0,
    reconnectTimer: null,
    authFailed: false,
    me: { id: null, name: "" },
    maxOpen: null,
    csrf: "",
    presence: "online",
    presenceWanted: null, // what the agent last chose; re-asserted after a reconnect
    presenceChangedAt: 0,
    queue: { waiting: [], mine: [], agents: [], open: true },
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

  window.KakehashiAgent = {
    state() {
      return { connected: S.connected, openConversationId: S.openId, lastSeq: S.lastSeq };
    },
  };

  if (!root) return; // not the console page

  // ---- Small helpers ---------------------------------------------------------------------------

  function h(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach((key) => {
        const value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = String(value);
        else if (key.indexOf("on") === 0 && typeof value === "function") {
          node.addEventListener(key.slice(2), value);
        } else if (value === true) node.setAttribute(key, "");
        else node.setAttribute(key, String(value));
      });
    }
    (children || []).forEach((child) => {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  const $ = (sel, scope) => (scope || root).querySelector(sel);
  const byRole = (name) => root.querySelector(`[data-role="${name}"]`);
  const byTestId = (name) => root.querySelector(`[data-testid="${name}"]`);

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function warn() {
    if (window.console && console.warn) {
      console.warn.apply(console, ["[kakehashi agent]"].concat(Array.from(arguments)));
    }
  }

  function uuid() {
    const c = window.crypto;
    // randomUUID exists only in secure contexts (https or localhost) of recent browsers.
    if (c && typeof c.randomUUID === "function") {
      try {
        return c.randomUUID();
      } catch (err) {
        /* fall through */
      }
    }
    const bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  const charCount = (text) => Array.from(text).length;
  const pad2 = (n) => (n < 10 ? "0" : "") + n;

  function mmss(totalSeconds) {
    const s = Math.max(0, Math.floor(totalSeconds));
    return `${pad2(Math.floor(s / 60))}:${pad2(s % 60)}`;
  }

  function humanize(key) {
    const s = String(key).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function reasonLabel(reason) {
    if (!reason) return "";
    return t.reasons[reason] || humanize(reason);
  }

  function stateLabel(state) {
    if (!state) return "";
    return t.states[state] || humanize(state);
  }

  function langLabel(code) {
    if (!code) return "—";
    return t.langNames[code] || String(code).toUpperCase();
  }

  // "2026-11-22T11:40:02.123456+00:00" -> ms; browsers need at most 3 fraction digits.
  function parseTime(iso) {
    if (typeof iso !== "string") return NaN;
    return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
  }

  function formatTime(iso) {
    const ms = parseTime(iso);
    if (isNaN(ms)) return "";
    try {
      return new Date(ms).toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB", {
        hour: "2-digit",
        minute: "2-digit",
      });
    } catch (err) {
      return "";
    }
  }

  function safeUrl(value) {
    if (typeof value !== "string") return false;
    // Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
    // eslint-disable-next-line no-control-regex
    const compact = value.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
    return /^(https?:|mailto:)/i.test(compact);
  }

  function agentName(agent) {
    if (agent === null || agent === undefined || agent === "") return null;
    if (typeof agent === "object") {
      return agent.display_name || agent.username || (agent.id !== undefined ? String(agent.id) : null);
    }
    if (typeof agent === "number") {
      const known = (S.queue.agents || []).find((a) => a.id === agent);
      return known ? known.display_name : String(agent);
    }
    return String(agent);
  }

  function agentIsMe(agent) {
    if (agent === null || agent === undefined || agent === "") return false;
    if (typeof agent === "object") {
      if (agent.id !== undefined && S.me.id !== null) return String(agent.id) === String(S.me.id);
      return !!S.me.name && agent.display_name === S.me.name;
    }
    if (typeof agent === "number") return S.me.id !== null && String(agent) === String(S.me.id);
    return !!S.me.name && String(agent) === S.me.name;
  }

  function isMine(conv) {
    if (!conv) return false;
    if (conv.agentId !== undefined && conv.agentId !== null && S.me.id !== null) {
      return String(conv.agentId) === String(S.me.id);
    }
    if (conv.agent !== null && conv.agent !== undefined && conv.agent !== "") return agentIsMe(conv.agent);
    return S.claimed.has(conv.id) || S.queue.mine.some((m) => m.conversation_id === conv.id);
  }

  function canReply() {
    const c = S.conv;
    return !!c && c.loaded && c.state === "agent" && isMine(c);
  }

  // ---- HTML cleaning (defence in depth; the server already sanitised `html`) ----------------

  const DROP_TAGS = new Set([
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "link",
    "meta", "base", "form", "input", "button", "textarea", "select", "option", "template",
    "noscript", "svg", "math", "img", "picture", "source", "video", "audio", "track",
    "canvas", "portal", "slot", "dialog",
  ]);
  const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite"]);

  function cleanHtml(html) {
    // A <template>'s content is inert: nothing runs or loads while we walk it.
    const tpl = document.createElement("template");
    tpl.innerHTML = String(html);
    Array.from(tpl.content.querySelectorAll("*")).forEach((node) => {
      if (DROP_TAGS.has(node.localName)) {
        node.remove();
        return;
      }
      Array.from(node.attributes).forEach((a) => {
        const name = a.name.toLowerCase();
        if (name.indexOf("on") === 0 || name === "style" || name === "srcdoc" || name === "srcset" ||
            name === "id" || name === "slot" || name === "is" || name === "formaction") {
          node.removeAttribute(a.name);
        } else if (URL_ATTRS.has(name) && !safeUrl(a.value)) {
          node.removeAttribute(a.name);
        }
      });
      if (node.localName === "a") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    const walker = document.createTreeWalker(tpl.content, NodeFilter.SHOW_COMMENT);
    const comments = [];
    while (walker.nextNode()) comments.push(walker.currentNode);
    comments.forEach((c) => c.remove());
    return tpl.content;
  }

  // ---- Elements of the shell -------------------------------------------------------------------

  const E = {
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
    contextEmpty: byRole("context-empty"),
    context: byRole("context"),
    cannedFilter: byRole("canned-filter"),
    cannedList: byRole("canned-list"),
    cannedEmpty: byRole("canned-empty"),
  };

  function applyStrings() {
    root.querySelectorAll("[data-i18n]").forEach((node) => {
      const value = t[node.getAttribute("data-i18n")];
      if (typeof value === "string") node.textContent = value;
    });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
      const value = t[node.getAttribute("data-i18n-placeholder")];
      if (typeof value === "string") node.setAttribute("placeholder", value);
    });
    root.querySelectorAll("[data-i18n-aria-label]").forEach((node) => {
      const value = t[node.getAttribute("data-i18n-aria-label")];
      if (typeof value === "string") node.setAttribute("aria-label", value);
    });
    E.hint.textContent = t.hint;
  }

  // ---- Toasts ----------------------------------------------------------------------------------

  function toast(message, code) {
    if (!message) return;
    // The same message again (e.g. a double click) refreshes the existing toast.
    const existing = Array.from(E.toasts.children).find((n) => n.getAttribute("data-message") === message);
    if (existing) existing.remove();
    const node = h("div", {
      class: "kk-toast",
      role: "alert",
      "data-testid": "toast",
      "data-code": code || null,
      "data-message": message,
    });
    const text = h("span", { class: "kk-toast-text", text: message });
    const dismiss = h("button", {
      type: "button",
      class: "kk-toast-close",
      "aria-label": t.dismiss,
      title: t.dismiss,
      "data-testid": "toast-dismiss",
      text: "×",
    });
    let timer = null;
    const remove = () => {
      clearTimeout(timer);
      node.remove();
    };
    dismiss.addEventListener("click", remove);
    node.appendChild(text);
    node.appendChild(dismiss);
    E.toasts.appendChild(node);
    while (E.toasts.children.length > 4) E.toasts.firstChild.remove();
    timer = setTimeout(remove, TOAST_MS);
  }

  function errorText(ev) {
    const code = ev.code || "";
    const entry = t.errors[code];
    if (typeof entry === "function") return entry(S.maxOpen);
    if (typeof entry === "string") return entry;
    return ev.message || t.errorFallback(code);
  }

  // ---- Connection --------------------------------------------------------------------------------

  const wsUrl = (function () {
    const custom = root.getAttribute("data-ws-url");
    if (custom) return custom;
    return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/agent`;
  })();

  function sendRaw(payload) {
    if (!S.ws || S.ws.readyState !== 1) return false;
    try {
      S.ws.send(JSON.stringify(payload));
      return true;
    } catch (err) {
      warn("send failed", err);
      return false;
    }
  }

  // Events that must not go out before `welcome` (the server is not ready for them).
  function send(payload) {
    if (!S.connected) return false;
    return sendRaw(payload);
  }

  function connect() {
    if (S.ws) return;
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
    let welcomed = false;
    ws.onmessage = (msg) => {
      if (ws !== S.ws) return; // a frame from a socket we have already given up on
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch (err) {
        warn("ignoring a frame that is not JSON");
        return;
      }
      if (data && data.type === "welcome") welcomed = true;
      try {
        handleEvent(data);
      } catch (err) {
        warn("error while handling", data && data.type, err); // one bad event never breaks the page
      }
    };
    ws.onerror = () => {}; // a close event always follows
    ws.onclose = (ev) => {
      if (ws !== S.ws) return;
      S.ws = null;
      S.connected = false;
      // Closed before `welcome` with a policy/auth code: the session is gone or not allowed.
      S.authFailed = !welcomed && (ev.code === 1008 || ev.code === 4401 || ev.code === 4403);
      resetTypingState();
      hidePeerTyping();
      S.pending.forEach((p) => clearTimeout(p.timer)); // resent after the reconnect
      refreshPending();
      renderBanner();
      renderConversation();
      scheduleReconnect();
    };
    renderBanner();
  }

  function scheduleReconnect() {
    if (S.reconnectTimer) return;
    // 0.5 s, 1 s, 2 s … capped at 30 s, each ±20 % so many consoles don't retry in step.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, S.attempt));
    const delay = Math.min(BACKOFF_MAX_MS, base * (0.8 + Math.random() * 0.4));
    S.attempt += 1;
    S.reconnectTimer = setTimeout(() => {
      S.reconnectTimer = null;
      connect();
    }, delay);
    renderBanner();
  }

  function reconnectNow() {
    if (S.connected) return;
    const old = S.ws;
    S.ws = null;
    if (old) {
      try {
        old.close(1000);
      } catch (err) {
        /* already closing */
      }
    }
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = null;
    S.attempt = 0;
    connect();
  }

  function renderBanner() {
    const show = !S.connected;
    E.banner.hidden = !show;
    if (!show) return;
    let text;
    if (S.authFailed) text = t.sessionEnded;
    else text = S.everConnected ? t.reconnecting : t.connecting;
    E.bannerText.textContent = text;
    E.banner.setAttribute("data-state", S.authFailed ? "auth" : S.everConnected ? "reconnecting" : "connecting");
    E.bannerLogin.hidden = !S.authFailed;
    E.bannerRetry.hidden = !S.reconnectTimer;
  }

  // ---- Server events -----------------------------------------------------------------------------

  function handleEvent(ev) {
    if (!ev || typeof ev !== "object") return;
    switch (ev.type) {
      case "welcome":
        onWelcome(ev);
        break;
      case "queue":
        onQueue(ev);
        break;
      case "conversation":
        onConversation(ev);
        break;
      case "message":
        if (ev.conversation_id === S.openId) addMessage(ev, true);
        break;
      case "note":
        if (ev.conversation_id === S.openId) addNote(ev, true);
        break;
      case "typing":
        onPeerTyping(ev);
        break;
      case "state":
        onState(ev);
        break;
      case "claimed":
        onClaimed(ev);
        break;
      case "rated":
        // The customer rated (or re-rated) the open conversation.
        if (ev.conversation_id === S.openId && S.conv) {
          S.conv.csat = { score: ev.score, comment: ev.comment, rated_at: ev.rated_at };
          renderContext();
        }
        break;
      case "customer_ended":
        toast(t.customerEnded + (ev.conversation_id === S.openId ? "" : ` (${String(ev.conversation_id).slice(0, 8)})`));
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
    S.authFailed = false;
    S.attempt = 0;
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
    ["state", "lang", "agent", "reason", "scores", "summary", "suggestions", "contact", "outcome", "tags", "csat"]
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
      ["agent", "reason", "outcome", "tags"].forEach((key) => {
        if (Object.prototype.hasOwnProperty.call(ev, key)) c[key] = ev[key];
      });
      // The owner's id is known only when the event carries it; otherwise go by name.
      if (Object.prototype.hasOwnProperty.call(ev, "agent_id")) c.agentId = ev.agent_id;
      else if (Object.prototype.hasOwnProperty.call(ev, "agent")) c.agentId = undefined;
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

  // ---- Queue, my chats, agents ---------------------------------------------------------------------

  function liveSla(meta) {
    if (!meta) return "ok";
    let rank = SLA_RANK[meta.sla] || 0;
    if (meta.target && meta.target > 0) {
      const secs = meta.base + (performance.now() - meta.at) / 1000;
      if (secs >= meta.target) rank = Math.max(rank, 2);
      else if (secs >= meta.target * 0.75) rank = Math.max(rank, 1);
    }
    return ["ok", "near", "breached"][rank];
  }

  function waitingSeconds(meta) {
    return meta ? meta.base + (performance.now() - meta.at) / 1000 : 0;
  }

  function createQueueEntry(id) {
    const li = h("li", { class: "kk-entry", "data-testid": "queue-entry", "data-conversation-id": id });
    const timerText = document.createTextNode("00:00");
    const main = h("button", { type: "button", class: "kk-entry-main", "data-role": "entry-open" }, [
      h("span", { class: "kk-entry-top" }, [
        h("span", { class: "kk-badge kk-reason", "data-role": "reason" }),
        h("span", { class: "kk-badge kk-badge--lang", "data-role": "lang" }),
        h("span", { class: "kk-wait" }, [
          h("span", { class: "kk-sr", text: `${t.waiting} ` }),
          h("span", { class: "kk-timer", "data-role": "timer" }, [timerText]),
        ]),
        h("span", { class: "kk-sla", "data-role": "sla" }),
      ]),
      h("span", { class: "kk-preview", "data-role": "preview" }),
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

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function updateQueueEntry(li, w) {
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

  function tickEntry(li, id) {
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

  function renderQueue() {
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
    const n = S.queue.waiting.length;
    E.queueCount.textContent = String(n);
    E.queueEmpty.hidden = n > 0;
    document.title = (n > 0 ? `(${n}) ` : "") + S.baseTitle;
  }

  function tickQueue() {
    Array.from(E.queue.children).forEach((li) => tickEntry(li, li.getAttribute("data-conversation-id")));
  }

  function renderMine() {
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
          unread > 0
            ? h("span", { class: "kk-unread", "data-testid": "unread", text: String(unread), "aria-label": t.unread(unread), title: t.unread(unread) })
            : null,
        ]),
        h("span", { class: "kk-preview", text: m.preview ? String(m.preview) : t.noPreview }),
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

  function renderAgents() {
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

  function renderPresence() {
    const p = S.presence === "away" ? "away" : "online";
    E.presence.setAttribute("data-status", p);
    E.presence.setAttribute("aria-pressed", p === "online" ? "true" : "false");
    E.presenceText.textContent = t.presence[p];
    E.presence.title = t.presenceSwitch(t.presence[p === "online" ? "away" : "online"]);
  }

  function togglePresence() {
    const next = S.presence === "online" ? "away" : "online";
    S.presence = next;
    S.presenceWanted = next;
    S.presenceChangedAt = performance.now();
    send({ type: "presence", status: next });
    renderPresence();
  }

  function claimConversation(id) {
    if (!S.connected) {
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

  function clearClaimRequest(id) {
    if (!S.claimRequests.has(id)) return;
    clearTimeout(S.claimRequests.get(id));
    S.claimRequests.delete(id);
  }

  // ---- Opening a conversation -------------------------------------------------------------------------

  function newConv(id) {
    const w = S.queue.waiting.find((x) => x.conversation_id === id);
    const m = S.queue.mine.find((x) => x.conversation_id === id);
    return {
      id,
      loaded: false,
      state: m ? m.state : w ? "waiting" : null,
      lang: (m && m.lang) || (w && w.lang) || null,
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

  function openConversation(id) {
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
  function compareItems(a, b) {
    if (a.kind === "m" && b.kind === "m") return a.seq - b.seq;
    const ta = isNaN(a.time) ? Infinity : a.time;
    const tb = isNaN(b.time) ? Infinity : b.time;
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.kind !== b.kind) return a.kind === "m" ? -1 : 1;
    return (a.id || 0) - (b.id || 0);
  }

  function insertItem(item) {
    let i = S.items.length;
    while (i > 0 && compareItems(S.items[i - 1], item) > 0) i -= 1;
    const before = S.items[i] ? S.items[i].node : firstPendingNode();
    S.items.splice(i, 0, item);
    E.transcript.insertBefore(item.node, before);
  }

  function firstPendingNode() {
    return E.transcript.querySelector("[data-pending='true']");
  }

  function nearBottom() {
    const el = E.transcript;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  function scrollToBottom(force) {
    if (force || nearBottom()) E.transcript.scrollTop = E.transcript.scrollHeight;
  }

  function roleLabel(role, m) {
    if (role === "agent") return m.author ? String(m.author) : t.roles.agent;
    return t.roles[role];
  }

  function messageNode(m) {
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
    const body = h("div", { class: "kk-msg-body" });
    if (role !== "customer" && typeof m.html === "string" && m.html) {
      body.appendChild(cleanHtml(m.html)); // the one place server HTML is inserted
    } else {
      body.classList.add("kk-plain");
      body.textContent = typeof m.text === "string" ? m.text : "";
    }
    li.appendChild(body);
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
    return li;
  }

  function addMessage(m, live) {
    if (!m || typeof m !== "object") return;
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
    if (live) scrollToBottom(stick || (m.role === "agent" && m.client_id));
  }

  function noteNode(n) {
    return h("li", { class: "kk-note", "data-testid": "note", "data-note-id": n.id !== undefined ? String(n.id) : null }, [
      h("div", { class: "kk-msg-head" }, [
        h("span", { class: "kk-note-label", text: t.internalNote }),
        n.author ? h("span", { class: "kk-msg-author", text: String(n.author) }) : null,
        n.created_at ? h("time", { class: "kk-msg-time", datetime: n.created_at, text: formatTime(n.created_at) }) : null,
      ]),
      h("div", { class: "kk-msg-body kk-plain", text: typeof n.text === "string" ? n.text : "" }),
    ]);
  }

  function addNote(n, live) {
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

  // ---- Pending replies ------------------------------------------------------------------------------

  function pendingNode(clientId, p) {
    const li = h("li", {
      class: "kk-msg kk-msg--agent kk-msg--pending",
      "data-testid": "message",
      "data-role": "agent",
      "data-pending": "true",
      "data-client-id": clientId,
    }, [
      h("div", { class: "kk-msg-head" }, [h("span", { class: "kk-msg-author", text: S.me.name || t.roles.agent })]),
      h("div", { class: "kk-msg-body kk-plain", text: p.text }),
      h("div", { class: "kk-msg-foot" }, [h("span", { class: "kk-msg-status", "data-role": "status" })]),
    ]);
    updatePendingNode(li, p);
    return li;
  }

  function updatePendingNode(li, p) {
    const status = $("[data-role='status']", li);
    clear(status);
    li.classList.toggle("kk-msg--failed", !!p.failed);
    if (p.failed) {
      status.appendChild(h("span", { text: t.notSent }));
      const clientId = li.getAttribute("data-client-id");
      status.appendChild(h("button", {
        type: "button",
        class: "kk-link-btn",
        text: t.retry,
        onclick: () => {
          p.failed = false;
          updatePendingNode(li, p);
          transmitPending(clientId);
        },
      }));
      status.appendChild(h("button", {
        type: "button",
        class: "kk-link-btn",
        text: t.discard,
        onclick: () => {
          clearTimeout(p.timer);
          S.pending.delete(clientId);
          li.remove();
        },
      }));
    } else {
      status.textContent = S.connected ? t.sending : t.queuedSend;
    }
  }

  function transmitPending(clientId) {
    const p = S.pending.get(clientId);
    if (!p) return;
    if (send({ type: "message", conversation_id: p.conversationId, client_id: clientId, text: p.text })) {
      p.sentAt = Date.now();
      // No echo while connected: show it as not sent so the agent can retry.
      clearTimeout(p.timer);
      p.timer = setTimeout(() => {
        if (S.pending.get(clientId) === p && S.connected && !p.failed) markPendingFailed(clientId);
      }, PENDING_TIMEOUT_MS);
    }
    if (p.node) updatePendingNode(p.node, p);
  }

  function refreshPending() {
    S.pending.forEach((p) => {
      if (p.node) updatePendingNode(p.node, p);
    });
  }

  function markPendingFailed(clientId) {
    const p = S.pending.get(clientId);
    if (!p) return;
    clearTimeout(p.timer);
    p.failed = true;
    if (p.node) updatePendingNode(p.node, p);
  }

  // ---- Typing -------------------------------------------------------------------------------------

  function onPeerTyping(ev) {
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

  function hidePeerTyping() {
    clearTimeout(S.peerTypingTimer);
    S.peerTypingTimer = null;
    E.typing.hidden = true;
  }

  function noteTyping() {
    if (S.mode !== "reply" || !canReply() || !S.connected) return;
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

  function stopTyping() {
    clearTimeout(S.typing.idle);
    S.typing.idle = null;
    if (S.typing.active && S.typing.conversationId) {
      send({ type: "typing", conversation_id: S.typing.conversationId, typing: false });
    }
    S.typing.active = false;
    S.typing.lastSent = 0;
    S.typing.conversationId = null;
  }

  function resetTypingState() {
    clearTimeout(S.typing.idle);
    S.typing = { active: false, lastSent: 0, idle: null, conversationId: null };
  }

  // ---- Composer ------------------------------------------------------------------------------------

  function setMode(mode, silent) {
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

  function saveDraft() {
    if (!S.openId) return;
    const text = E.composer.value;
    if (text || S.mode === "note") S.drafts.set(S.openId, { text, mode: S.mode });
    else S.drafts.delete(S.openId);
  }

  function updateCounter() {
    const n = charCount(E.composer.value);
    const show = n > MAX_TEXT * 0.9;
    E.counter.hidden = !show;
    if (show) E.counter.textContent = t.counter(n, MAX_TEXT);
    E.counter.classList.toggle("kk-counter--over", n > MAX_TEXT);
    return n;
  }

  function submitComposer() {
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

  function insertIntoComposer(snippet) {
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

  function renderComposer() {
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
  }

  // ---- Conversation header and context ----------------------------------------------------------------

  function metaRow(key, label, valueNode) {
    return h("div", { class: "kk-meta-row" }, [
      h("dt", { text: label }),
      h("dd", { "data-testid": `conv-${key}` }, [valueNode]),
    ]);
  }

  function renderConversation() {
    const c = S.conv;
    E.placeholder.hidden = !!c;
    E.conv.hidden = !c;
    if (!c) {
      E.convHeading.textContent = t.conversation;
      renderComposer();
      return;
    }
    E.convHeading.textContent = t.conversationTitle(String(c.id).slice(0, 8));
    E.convHeading.title = String(c.id);
    const mine = isMine(c);
    const state = c.state || "";
    E.conv.setAttribute("data-state", state);
    E.conv.setAttribute("data-mine", mine ? "true" : "false");

    clear(E.meta);
    const ownerName = agentName(c.agent);
    const rows = [
      metaRow("lang", t.meta.lang, h("span", { class: "kk-badge kk-badge--lang", text: langLabel(c.lang) })),
      metaRow("state", t.meta.state, h("span", {
        class: `kk-badge kk-state kk-state--${state || "unknown"}`,
        text: state ? stateLabel(state) : c.loaded ? "—" : t.loading,
      })),
      metaRow("agent", t.meta.agent, h("span", {
        text: ownerName ? ownerName + (mine ? ` ${t.you}` : "") : t.unassigned,
      })),
      metaRow("reason", t.meta.reason, c.reason
        ? h("span", { class: `kk-badge kk-reason kk-reason--${String(c.reason).replace(/[^a-z_]/gi, "")}`, text: reasonLabel(c.reason) })
        : h("span", { text: "—" })),
    ];
    if (c.outcome) {
      rows.push(metaRow("outcome", t.meta.outcome, h("span", { text: t.outcomes[c.outcome] || humanize(c.outcome) })));
    }
    rows.forEach((n) => E.meta.appendChild(n));

    const active = state === "agent" && mine;
    const claiming = S.claimRequests.has(c.id);
    E.claim.hidden = !state || active || state === "closed";
    E.claim.disabled = claiming || !S.connected;
    E.claim.textContent = claiming ? t.claiming : t.claim;
    E.handBack.disabled = !active || !S.connected;
    E.transfer.disabled = !active || !S.connected;
    E.close.disabled = !c.loaded || state === "closed" || !S.connected;
    E.draftArticle.hidden = state !== "closed";
    renderComposer();
  }

  function flattenScores(obj, prefix, out) {
    Object.keys(obj).forEach((key) => {
      const value = obj[key];
      const path = prefix ? `${prefix}.${key}` : key;
      if (value && typeof value === "object" && !Array.isArray(value)) flattenScores(value, path, out);
      else out.push([path, value]);
    });
    return out;
  }

  function formatValue(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "boolean") return v ? t.yes : t.no;
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
    if (Array.isArray(v)) return v.map(formatValue).join(", ");
    return String(v);
  }

  function scoreLabel(path) {
    return path.split(".").map((part) => t.scoreNames[part] || humanize(part)).join(" › ");
  }

  function section(title, testid, children) {
    return h("section", { class: "kk-section", "data-testid": testid || null }, [h("h3", { class: "kk-h3", text: title })].concat(children));
  }

  function renderContext() {
    const c = S.conv;
    E.contextEmpty.hidden = !!c;
    E.context.hidden = !c;
    clear(E.context);
    if (!c) return;

    // The customer's satisfaction rating, once given (first: it is what is new).
    const csat = c.csat && typeof c.csat === "object" && typeof c.csat.score === "number" ? c.csat : null;
    if (csat) {
      const dl = h("dl", { class: "kk-contact" }, [
        h("dt", { text: t.csat }),
        h("dd", { "data-testid": "csat-score", "data-score": String(csat.score),
          text: `${t.csatScore(csat.score)} · ${t.csatScores[csat.score - 1] || ""}` }),
      ]);
      if (csat.comment) dl.appendChild(h("dd", { class: "kk-plain", "data-testid": "csat-comment", text: String(csat.comment) }));
      if (csat.rated_at) {
        dl.appendChild(h("dt", { text: t.rated }));
        dl.appendChild(h("dd", { text: formatTime(csat.rated_at) }));
      }
      E.context.appendChild(section(t.csat, "csat", [dl]));
    }

    // Handoff reason and scores.
    const reasonChildren = [];
    reasonChildren.push(c.reason
      ? h("p", {}, [h("span", {
        class: `kk-badge kk-reason kk-reason--${String(c.reason).replace(/[^a-z_]/gi, "")}`,
        "data-testid": "context-reason",
        text: reasonLabel(c.reason),
      })])
      : h("p", { class: "kk-empty", text: "—" }));
    if (c.scores && typeof c.scores === "object") {
      const rows = flattenScores(c.scores, "", []);
      if (rows.length) {
        const table = h("table", { class: "kk-scores", "data-testid": "scores" }, [
          h("caption", { class: "kk-sr", text: t.scores }),
        ]);
        const body = h("tbody");
        rows.forEach((row) => {
          body.appendChild(h("tr", { "data-key": row[0] }, [
            h("th", { scope: "row", text: scoreLabel(row[0]) }),
            h("td", { text: formatValue(row[1]) }),
          ]));
        });
        table.appendChild(body);
        reasonChildren.push(table);
      }
    }
    E.context.appendChild(section(t.handoffReason, "context-handoff", reasonChildren));

    // Summary.
    const summary = Array.isArray(c.summary) ? c.summary.filter((line) => line !== null && line !== "") : [];
    const summaryList = h("ul", { class: "kk-summary", "data-testid": "summary" });
    summary.forEach((line) => summaryList.appendChild(h("li", { text: String(line) })));
    E.context.appendChild(section(t.summary, null, [
      summaryList,
      summary.length ? null : h("p", { class: "kk-empty", text: c.loaded ? t.summaryEmpty : t.loading }),
    ]));

    // The customer's offline contact.
    const contact = c.contact && typeof c.contact === "object" ? c.contact : null;
    if (contact && (contact.email || contact.message)) {
      const dl = h("dl", { class: "kk-contact" });
      if (contact.email) {
        const email = String(contact.email);
        const valid = /^[^\s<>"'@]+@[^\s<>"'@]+$/.test(email);
        dl.appendChild(h("dt", { text: t.email }));
        dl.appendChild(h("dd", { "data-testid": "contact-email" }, [
          valid ? h("a", { href: `mailto:${email}`, text: email }) : h("span", { text: email }),
        ]));
      }
      if (contact.message) {
        dl.appendChild(h("dt", { text: t.contactMessage }));
        dl.appendChild(h("dd", { class: "kk-plain", "data-testid": "contact-message", text: String(contact.message) }));
      }
      E.context.appendChild(section(t.contact, "contact", [dl]));
    }

    // Suggested articles.
    const suggestions = Array.isArray(c.suggestions) ? c.suggestions.filter((s) => s && typeof s === "object") : [];
    const list = h("ul", { class: "kk-suggestions", "data-testid": "suggestions" });
    suggestions.forEach((s, index) => {
      const title = String(s.title || s.article_id || "");
      const url = typeof s.url === "string" ? s.url : "";
      const excerpt = typeof s.excerpt === "string" ? s.excerpt : "";
      const titleId = `kk-suggestion-${index}`;
      list.appendChild(h("li", { class: "kk-card", "data-testid": "suggestion", "data-article-id": s.article_id || null }, [
        h("div", { class: "kk-card-head" }, [
          safeUrl(url)
            ? h("a", { class: "kk-card-title", id: titleId, href: url, target: "_blank", rel: "noopener noreferrer", text: title })
            : h("span", { class: "kk-card-title", id: titleId, text: title }),
        ]),
        excerpt ? h("p", { class: "kk-excerpt", text: excerpt }) : null,
        h("button", {
          type: "button",
          class: "kk-btn kk-btn--small",
          "data-testid": "insert-suggestion",
          "aria-describedby": titleId,
          text: t.insert,
          onclick: () => insertIntoComposer(`${excerpt}\n\nSource: ${title}${url ? ` (${url})` : ""}`),
        }),
      ]));
    });
    E.context.appendChild(section(t.suggestions, null, [
      list,
      suggestions.length ? null : h("p", { class: "kk-empty", text: c.loaded ? t.suggestionsEmpty : t.loading }),
    ]));

    // Outcome and tags of a closed conversation.
    if (c.state === "closed" && (c.outcome || (Array.isArray(c.tags) && c.tags.length))) {
      const dl = h("dl", { class: "kk-contact" });
      if (c.outcome) {
        dl.appendChild(h("dt", { text: t.outcome }));
        dl.appendChild(h("dd", { text: t.outcomes[c.outcome] || humanize(c.outcome) }));
      }
      if (Array.isArray(c.tags) && c.tags.length) {
        dl.appendChild(h("dt", { text: t.tagsLabel }));
        dl.appendChild(h("dd", {}, c.tags.map((tag) => h("span", { class: "kk-badge kk-tag", text: String(tag) }))));
      }
      E.context.appendChild(section(t.outcome, "outcome", [dl]));
    }
  }

  // ---- Canned responses ------------------------------------------------------------------------------

  function filterCanned() {
    const q = E.cannedFilter.value.trim().toLowerCase();
    let shown = 0;
    Array.from(E.cannedList.children).forEach((li) => {
      const hay = `${li.textContent} ${li.getAttribute("data-lang") || ""}`.toLowerCase();
      const match = !q || hay.indexOf(q) >= 0;
      li.hidden = !match;
      if (match) shown += 1;
    });
    E.cannedEmpty.hidden = shown > 0 || E.cannedList.children.length === 0;
  }

  // ---- Dialogs ---------------------------------------------------------------------------------------

  function makeDialog(testid, title) {
    const titleId = `kk-${testid}-title`;
    const dialog = h("dialog", { class: "kk-dialog", "data-testid": testid, "aria-labelledby": titleId });
    const form = h("form", { method: "dialog", class: "kk-dialog-form" });
    form.appendChild(h("h2", { class: "kk-h2", id: titleId, text: title }));
    dialog.appendChild(form);
    root.appendChild(dialog);
    return { dialog, form };
  }

  function showDialog(dialog, opener) {
    dialog._kkOpener = opener;
    if (typeof dialog.showModal === "function") {
      try {
        dialog.showModal();
        return;
      } catch (err) {
        /* already open */
      }
    }
    dialog.setAttribute("open", "");
  }

  function hideDialog(dialog) {
    if (typeof dialog.close === "function" && dialog.open) dialog.close();
    else dialog.removeAttribute("open");
  }

  function wireDialogFocus(dialog) {
    dialog.addEventListener("close", () => {
      const opener = dialog._kkOpener;
      if (opener && !opener.disabled) opener.focus();
      else E.composer.focus();
    });
  }

  // Transfer.
  const transferUi = makeDialog("transfer-dialog", t.transferTitle);
  const transferSelect = h("select", { id: "kk-transfer-to", class: "kk-input", "data-testid": "transfer-select" });
  const transferNone = h("p", { class: "kk-empty", text: t.transferNone, hidden: true });
  const transferConfirm = h("button", { type: "submit", class: "kk-btn kk-btn--primary", "data-testid": "transfer-confirm", text: t.transfer });
  transferUi.form.appendChild(h("div", { class: "kk-field" }, [h("label", { for: "kk-transfer-to", text: t.transferTo }), transferSelect]));
  transferUi.form.appendChild(transferNone);
  transferUi.form.appendChild(h("div", { class: "kk-dialog-actions" }, [
    h("button", { type: "button", class: "kk-btn", "data-testid": "transfer-cancel", text: t.cancel, onclick: () => hideDialog(transferUi.dialog) }),
    transferConfirm,
  ]));
  transferUi.form.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = transferSelect.value;
    if (!value || !S.conv) return;
    const to = /^\d+$/.test(value) ? Number(value) : value;
    stopTyping();
    send({ type: "transfer", conversation_id: S.conv.id, to_user_id: to });
    hideDialog(transferUi.dialog);
  });
  wireDialogFocus(transferUi.dialog);

  function openTransfer() {
    if (!S.conv) return;
    clear(transferSelect);
    const others = S.queue.agents.filter((a) =>
      a.presence === "online" && !(S.me.id !== null && String(a.id) === String(S.me.id)));
    others.forEach((a) => {
      const label = (a.display_name || String(a.id)) +
        (typeof a.open_chats === "number" ? ` (${t.openChats(a.open_chats)})` : "");
      transferSelect.appendChild(h("option", { value: String(a.id), text: label }));
    });
    transferSelect.disabled = others.length === 0;
    transferConfirm.disabled = others.length === 0;
    transferNone.hidden = others.length > 0;
    showDialog(transferUi.dialog, E.transfer);
    (others.length ? transferSelect : transferUi.dialog.querySelector("[data-testid='transfer-cancel']")).focus();
  }

  // Close.
  const closeUi = makeDialog("close-dialog", t.closeTitle);
  const outcomeSet = h("fieldset", { class: "kk-fieldset" }, [h("legend", { text: t.outcome })]);
  ["resolved", "not_resolved"].forEach((value, i) => {
    const id = `kk-outcome-${value}`;
    outcomeSet.appendChild(h("div", { class: "kk-radio" }, [
      h("input", {
        type: "radio",
        name: "outcome",
        id,
        value,
        checked: i === 0,
        "data-testid": `close-outcome-${value.replace("_", "-")}`,
      }),
      h("label", { for: id, text: t.outcomes[value] }),
    ]));
  });
  const tagsInput = h("input", {
    type: "text",
    id: "kk-close-tags",
    class: "kk-input",
    "data-testid": "close-tags",
    autocomplete: "off",
    "aria-describedby": "kk-close-tags-hint",
  });
  closeUi.form.appendChild(outcomeSet);
  closeUi.form.appendChild(h("div", { class: "kk-field" }, [
    h("label", { for: "kk-close-tags", text: t.tags }),
    tagsInput,
    h("p", { class: "kk-hint", id: "kk-close-tags-hint", text: t.tagsHint }),
  ]));
  closeUi.form.appendChild(h("div", { class: "kk-dialog-actions" }, [
    h("button", { type: "button", class: "kk-btn", "data-testid": "close-cancel", text: t.cancel, onclick: () => hideDialog(closeUi.dialog) }),
    h("button", { type: "submit", class: "kk-btn kk-btn--danger", "data-testid": "close-confirm", text: t.confirmClose }),
  ]));
  closeUi.form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!S.conv) return;
    const checked = closeUi.form.querySelector("input[name='outcome']:checked");
    const outcome = checked ? checked.value : "resolved";
    const tags = [];
    tagsInput.value.split(/[,、，]/).forEach((raw) => {
      const tag = raw.trim();
      if (tag && tags.indexOf(tag) < 0) tags.push(tag);
    });
    stopTyping();
    if (send({ type: "close", conversation_id: S.conv.id, outcome, tags })) {
      S.closing = { id: S.conv.id, outcome, tags }; // shown once the `state` event says closed
    }
    hideDialog(closeUi.dialog);
  });
  wireDialogFocus(closeUi.dialog);

  function openClose() {
    if (!S.conv) return;
    closeUi.form.reset();
    const first = closeUi.form.querySelector("input[value='resolved']");
    if (first) first.checked = true;
    tagsInput.value = "";
    showDialog(closeUi.dialog, E.close);
    if (first) first.focus();
  }

  // ---- Wiring ------------------------------------------------------------------------------------------

  applyStrings();

  E.bannerRetry.addEventListener("click", reconnectNow);
  E.presence.addEventListener("click", togglePresence);
  E.claim.addEventListener("click", () => {
    if (S.conv) claimConversation(S.conv.id);
  });
  E.handBack.addEventListener("click", () => {
    if (!S.conv) return;
    stopTyping();
    send({ type: "hand_back", conversation_id: S.conv.id });
  });
  // Document a solved conversation: the server drafts an article from the customer's
  // question and the agent's replies; editors (and admins, who go straight there) finish it.
  E.draftArticle.addEventListener("click", () => {
    if (!S.conv) return;
    const root = document.querySelector("[data-csrf]");
    fetch(`/api/conversations/${encodeURIComponent(S.conv.id)}/draft-article`, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": root ? root.getAttribute("data-csrf") : "" },
    }).then((response) => response.json().then((data) => {
      if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
      const role = root ? root.getAttribute("data-user-role") : "";
      if (role === "admin" || role === "editor") window.location.href = `/editor/articles/${data.id}`;
      else toast(t.draftCreated(data.id), "draft_created");
    })).catch((error) => toast(String(error.message || error), "draft_failed"));
  });
  E.transfer.addEventListener("click", openTransfer);
  E.close.addEventListener("click", openClose);
  E.modeReply.addEventListener("click", () => setMode("reply"));
  E.modeNote.addEventListener("click", () => setMode("note"));

  E.form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitComposer();
  });
  E.composer.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition (Japanese
    // input) only confirms the conversion.
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    submitComposer();
  });
  E.composer.addEventListener("input", () => {
    updateCounter();
    renderComposer();
    noteTyping();
  });
  E.composer.addEventListener("blur", saveDraft);

  E.cannedFilter.addEventListener("input", filterCanned);
  E.cannedList.addEventListener("click", (e) => {
    const button = e.target && e.target.closest ? e.target.closest("[data-testid='insert-canned']") : null;
    if (!button) return;
    const li = button.closest("[data-testid='canned']");
    const text = li ? $("[data-role='canned-text']", li) : null;
    if (text) insertIntoComposer(text.textContent);
  });

  window.addEventListener("online", () => {
    if (!S.connected && S.reconnectTimer) reconnectNow();
  });
  window.addEventListener("beforeunload", () => {
    stopTyping();
  });

  // Live waiting times and SLA states.
  setInterval(tickQueue, 1000);

  // ---- Start ---------------------------------------------------------------------------------------------

  S.me.id = (function () {
    const raw = root.getAttribute("data-user-id");
    if (!raw) return null;
    return /^\d+$/.test(raw) ? Number(raw) : raw;
  })();
  S.me.name = root.getAttribute("data-user-name") || "";
  S.csrf = root.getAttribute("data-csrf") || "";

  // Reopen the conversation in the address (#conversation=…) after a reload.
  const fromHash = /^#conversation=(.+)$/.exec(location.hash || "");
  if (fromHash) {
    let id = null;
    try {
      id = decodeURIComponent(fromHash[1]);
    } catch (err) {
      id = null;
    }
    if (id) {
      S.openId = id;
      S.conv = newConv(id);
    }
  }

  renderPresence();
  renderQueue();
  renderMine();
  renderAgents();
  renderConversation();
  renderContext();
  filterCanned();
  connect();
})();
