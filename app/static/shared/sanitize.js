// HTML cleaning for the `html` of bot, agent and system messages: defence in depth, since
// the server has already sanitised it. Everything else is set with textContent.

// Elements that never belong in a chat answer; removed with their content.
const DROP_TAGS = new Set([
  "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "link",
  "meta", "base", "form", "input", "button", "textarea", "select", "option", "template",
  "noscript", "svg", "math", "img", "picture", "source", "video", "audio", "track",
  "canvas", "portal", "slot", "dialog",
]);
const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite"]);
const DROP_ATTRS = new Set(["style", "srcdoc", "srcset", "id", "slot", "is", "formaction"]);

/** True for the URLs a link may point to: http(s) and mailto. */
export function safeUrl(value) {
  if (typeof value !== "string") return false;
  // Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
  const compact = value.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  return /^(https?:|mailto:)/i.test(compact);
}

/** A DocumentFragment of `html` without scripts, handlers, styles or unsafe URLs. */
export function cleanHtml(html) {
  // A <template>'s content is inert: nothing runs or loads while we walk it.
  const tpl = document.createElement("template");
  tpl.innerHTML = String(html);
  for (const node of Array.from(tpl.content.querySelectorAll("*"))) {
    if (DROP_TAGS.has(node.localName)) {
      node.remove();
      continue;
    }
    for (const a of Array.from(node.attributes)) {
      const name = a.name.toLowerCase();
      if (name.indexOf("on") === 0 || DROP_ATTRS.has(name)) {
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
  // Comments are harmless but pointless; drop them too.
  const walker = document.createTreeWalker(tpl.content, NodeFilter.SHOW_COMMENT);
  const comments = [];
  while (walker.nextNode()) comments.push(walker.currentNode);
  comments.forEach((c) => c.remove());
  return tpl.content;
}

/**
 * Fill a message bubble: a bot/agent/system message's `html` (cleaned here, the one place
 * server HTML is inserted), anything else, customer text included, as plain text.
 */
export function fillMessageBody(node, m, role) {
  if (role !== "customer" && typeof m.html === "string" && m.html) {
    node.appendChild(cleanHtml(m.html));
  } else {
    node.classList.add("kk-plain");
    node.textContent = typeof m.text === "string" ? m.text : "";
  }
}
