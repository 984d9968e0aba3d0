// The open conversation's header (state, owner, actions) and its context column: rating,
// handoff reason and scores, summary, offline contact, suggested articles, outcome.

import { h, clear } from "../shared/dom.js";
import { fillMessageBody, safeUrl } from "../shared/sanitize.js";
import { socket } from "./connection.js";
import { humanize, reasonLabel, stateLabel, langLabel, formatTime, agentName, isMine } from "./labels.js";
import { renderComposer, insertIntoComposer } from "./composer.js";
import { contextFiles } from "./files.js";
import { E, S, t } from "./state.js";

export function metaRow(key, label, valueNode) {
  return h("div", { class: "kk-meta-row" }, [
    h("dt", { text: label }),
    h("dd", { "data-testid": `conv-${key}` }, [valueNode]),
  ]);
}

export function renderConversation() {
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
    metaRow("channel", t.meta.channel, c.channel === "email"
      ? h("span", {}, [
        h("span", { class: "kk-badge kk-badge--email", text: t.channelEmail }),
        c.customer_email ? h("span", { class: "kk-channel-address", text: String(c.customer_email) }) : null,
      ])
      : h("span", { text: c.channel ? t.channelChat : "—" })),
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
  E.claim.disabled = claiming || !socket.connected;
  E.claim.textContent = claiming ? t.claiming : t.claim;
  E.handBack.disabled = !active || !socket.connected;
  E.transfer.disabled = !active || !socket.connected;
  E.close.disabled = !c.loaded || state === "closed" || !socket.connected;
  E.draftArticle.hidden = state !== "closed";
  renderComposer();
}

export function flattenScores(obj, prefix, out) {
  Object.keys(obj).forEach((key) => {
    const value = obj[key];
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object" && !Array.isArray(value)) flattenScores(value, path, out);
    else out.push([path, value]);
  });
  return out;
}

export function formatValue(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? t.yes : t.no;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
  if (Array.isArray(v)) return v.map(formatValue).join(", ");
  return String(v);
}

export function scoreLabel(path) {
  return path.split(".").map((part) => t.scoreNames[part] || humanize(part)).join(" › ");
}

/** A suggested article's passage, rendered as the widget shows answers (server HTML, cleaned). */
function preview(s, excerpt) {
  const node = h("div", { class: "kk-excerpt kk-md", "data-testid": "suggestion-preview" });
  fillMessageBody(node, { html: typeof s.html === "string" ? s.html : "", text: excerpt }, "bot");
  return node;
}

export function section(title, testid, children) {
  return h("section", { class: "kk-section", "data-testid": testid || null }, [h("h3", { class: "kk-h3", text: title })].concat(children));
}

export function renderContext() {
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

  // Summary: what the customer needs now comes first.
  const summary = Array.isArray(c.summary) ? c.summary.filter((line) => line !== null && line !== "") : [];
  const summaryList = h("ul", { class: "kk-summary", "data-testid": "summary" });
  summary.forEach((line) => summaryList.appendChild(h("li", { text: String(line) })));
  E.context.appendChild(section(t.summary, null, [
    summaryList,
    summary.length ? null : h("p", { class: "kk-empty", text: c.loaded ? t.summaryEmpty : t.loading }),
  ]));

  // The files the customer (and agents) sent: what to look at first.
  const files = contextFiles(c);
  if (files) E.context.appendChild(section(t.files.context, "attachments", [files]));

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
  const suggestions = Array.isArray(c.suggestions) ? c.suggestions.filter((s) => s && typeof s === "object").slice(0, 3) : [];
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
      excerpt ? preview(s, excerpt) : null,
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
