// Attached files in the console: thumbnails that open the full image in a new tab, PDF
// chips that download, the conversation's files in the context column, and the agent's
// own uploads (the paperclip in the composer; docs/protocol.md, "Attachments").
//
// The console is on the server's own origin, so files load with the session cookie.

import { h } from "../shared/dom.js";
import { uuid } from "../shared/ids.js";
import { attachmentsOf, fileSize, isImage, sendFile, thumbSize, DOCUMENT } from "../shared/files.js";
import { canReply } from "./labels.js";
import { toast } from "./toasts.js";
import { scrollToBottom } from "./transcript.js";
import { E, S, t, lang } from "./state.js";

const THUMB_PX = 200;
const locale = lang === "ja" ? "ja-JP" : "en-US";

/** The files of message `m` (thumbnails and chips), or null when it carries none. */
export function filesNode(m, max = THUMB_PX) {
  const files = attachmentsOf(m);
  if (!files.length) return null;
  const list = h("ul", { class: "kk-files", "aria-label": t.files.list });
  files.forEach((a) => list.appendChild(h("li", {}, [fileLink(a, max)])));
  return list;
}

function fileLink(a, max) {
  const name = String(a.name);
  if (isImage(a)) {
    const size = thumbSize(a, max);
    return h("a", {
      class: "kk-thumb", href: a.url, target: "_blank", rel: "noopener", "data-testid": "attachment-image",
      "data-attachment-id": a.id, title: t.files.openImage(name),
    }, [h("img", { src: a.thumbnail_url, alt: name, width: size.width, height: size.height, loading: "lazy",
      "data-testid": "attachment-thumbnail" })]);
  }
  const chip = h("a", {
    class: "kk-file", href: a.url, download: name, "data-testid": "attachment-file", "data-attachment-id": a.id,
    title: t.files.download(name),
  }, [h("span", { class: "kk-file-icon" }), h("span", { class: "kk-file-name", text: name }),
    h("span", { class: "kk-file-size", text: fileSize(a.size, locale) })]);
  chip.firstChild.innerHTML = DOCUMENT;
  return chip;
}

/** The context column's list of every file in the conversation, the latest first. */
export function contextFiles(c) {
  const files = attachmentsOf(c);
  if (!files.length) return null;
  const list = h("ul", { class: "kk-files kk-files--context", "data-testid": "context-attachments" });
  files.forEach((a) => {
    const who = t.roles[a.role] || "";
    list.appendChild(h("li", {}, [fileLink(a, 96), h("span", { class: "kk-file-who", text: who })]));
  });
  return list;
}

/** A live message's files join the context column's list. */
export function noteFiles(m) {
  const files = attachmentsOf(m);
  if (!files.length || !S.conv) return false;
  const known = new Set((S.conv.attachments || []).map((a) => a.id));
  const added = files.filter((a) => !known.has(a.id)).map((a) => ({ ...a, seq: m.seq, role: m.role }));
  S.conv.attachments = added.reverse().concat(S.conv.attachments || []);
  return added.length > 0;
}

// ---- The agent's uploads ---------------------------------------------------------------------

const uploads = new Map(); // client_id -> {node, conversationId}

export function chooseFiles() {
  if (!canReply()) return;
  E.fileInput.value = "";
  E.fileInput.click();
}

export function onFilesChosen() {
  const files = Array.from(E.fileInput.files || []);
  E.fileInput.value = "";
  if (!S.conv || !canReply()) return;
  files.forEach((file) => upload(file, S.conv.id));
  scrollToBottom(true);
}

function upload(file, conversationId) {
  const clientId = uuid();
  const progress = h("progress", { class: "kk-progress", max: 100, value: 0, "aria-label": t.files.uploading(file.name) });
  const status = h("span", { class: "kk-msg-status", role: "status", text: t.files.progress });
  const node = h("li", {
    class: "kk-msg kk-msg--agent kk-msg--pending", "data-testid": "message", "data-role": "agent",
    "data-pending": "true", "data-client-id": clientId,
  }, [
    h("div", { class: "kk-msg-head" }, [h("span", { class: "kk-msg-author", text: S.me.name || t.roles.agent })]),
    h("div", { class: "kk-msg-body" }, [h("span", { class: "kk-file-name", text: file.name }), " ",
      h("span", { class: "kk-file-size", text: fileSize(file.size, locale) }), progress]),
    h("div", { class: "kk-msg-foot" }, [status]),
  ]);
  uploads.set(clientId, { node, conversationId });
  E.transcript.appendChild(node);
  sendFile(`/api/conversations/${encodeURIComponent(conversationId)}/attachments`, { "X-CSRF-Token": S.csrf },
    file, clientId, {
      progress: (pct) => {
        progress.value = pct; // the bar, not the status line: screen readers hear it once
      },
      stored: () => {
        progress.value = 100;
        status.textContent = t.files.sent;
      },
      refused: (code, message, httpStatus) =>
        failed(clientId, message || (httpStatus ? `HTTP ${httpStatus}` : t.files.network), code || "upload_failed"),
    });
}

function failed(clientId, message, code) {
  const entry = uploads.get(clientId);
  if (!entry) return;
  const { node } = entry;
  node.classList.add("kk-msg--failed");
  const progress = node.querySelector("progress");
  if (progress) progress.hidden = true;
  const foot = node.querySelector(".kk-msg-foot");
  foot.replaceChildren(
    h("span", { class: "kk-msg-status", role: "alert", "data-testid": "upload-error", text: `${t.notSent}: ${message}` }),
    h("button", { type: "button", class: "kk-link-btn", text: t.discard, onclick: () => {
      uploads.delete(clientId);
      node.remove();
    } }),
  );
  toast(`${t.notSent}: ${message}`, code);
}

/** The server's echo of an upload: its pending item goes (the message is drawn instead). */
export function settleUpload(clientId) {
  const entry = uploads.get(clientId);
  if (!entry) return;
  uploads.delete(clientId);
  entry.node.remove();
}

/** Uploads of another conversation leave the transcript when it is switched. */
export function showUploads(conversationId) {
  uploads.forEach((entry) => {
    if (entry.conversationId === conversationId) E.transcript.appendChild(entry.node);
  });
}
