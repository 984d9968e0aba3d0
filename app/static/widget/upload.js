// Sending files: the paperclip opens the file picker; each file goes as a message of its
// own over HTTP (docs/protocol.md, "Attachments"), shown meanwhile as a bubble with its
// progress. The server's echo on the socket replaces the bubble; a refusal is shown in it,
// in the customer's language, with Retry (when trying again can help) and Remove.

import { h } from "../shared/dom.js";
import { uuid } from "../shared/ids.js";
import { fileSize, sendFile } from "../shared/files.js";
import { socket } from "./connection.js";
import { scrollToBottom } from "./panel.js";
import { S, t, ui, apiBase, locale } from "./state.js";

/** Whether the customer can attach now (and whether the button shows at all). */
export function attachState() {
  const types = S.attaching && Array.isArray(S.attaching.types) ? S.attaching.types : [];
  return {
    offered: types.length > 0,
    enabled: types.length > 0 && socket.connected && !!S.token && !!S.conversationId && S.conversationState !== "closed",
    accept: types.join(","),
  };
}

export function chooseFiles() {
  if (!attachState().enabled) return;
  ui.fileInput.value = "";
  ui.fileInput.click();
}

export function onFilesChosen() {
  const files = Array.from(ui.fileInput.files || []);
  ui.fileInput.value = "";
  files.forEach(startUpload);
  if (files.length) scrollToBottom(true);
}

function startUpload(file) {
  const clientId = uuid();
  const progress = h("progress", { class: "kk-progress", max: 100, value: 0, "aria-label": t.upload.progressLabel(file.name) });
  const status = h("div", { class: "kk-status", role: "status", text: t.upload.uploading });
  const node = h("div", {
    class: "kk-msg", "data-testid": "message", "data-role": "customer", "data-kind": "upload",
    "data-status": "sending", "data-client-id": clientId,
  }, [
    h("span", { class: "kk-sr", text: t.you + ": " }),
    h("div", { class: "kk-bubble kk-upload" }, [
      h("span", { class: "kk-file-name", text: file.name }),
      h("span", { class: "kk-file-size", text: fileSize(file.size, locale()) }),
      progress,
    ]),
    status,
  ]);
  const upload = { file, el: node, progress, status };
  S.uploads.set(clientId, upload);
  ui.log.appendChild(node);
  ui.empty.hidden = true;
  const max = S.attaching && S.attaching.max_bytes;
  if (max && file.size > max) { // no need to send it to hear that
    fail(clientId, "file_too_large", "", false);
    return;
  }
  send(clientId);
}

function send(clientId) {
  const upload = S.uploads.get(clientId);
  if (!upload) return;
  upload.el.setAttribute("data-status", "sending");
  const url = `${apiBase}/api/conversations/${encodeURIComponent(S.conversationId)}/attachments`;
  sendFile(url, { "X-Conversation-Token": S.token || "" }, upload.file, clientId, {
    progress: (pct) => {
      upload.progress.value = pct; // the bar, not the status line: screen readers hear it once
    },
    stored: () => {
      // the message arrives on the socket (now, or in the replay after a reconnect)
      upload.progress.value = 100;
      upload.status.textContent = t.upload.sent;
    },
    refused: (code, message, status) => fail(clientId, code, message, status === 0 || status === 429 || status >= 500),
  });
}

function fail(clientId, code, serverMessage, canRetry) {
  const upload = S.uploads.get(clientId);
  if (!upload) return;
  upload.el.setAttribute("data-status", "failed");
  upload.progress.hidden = true;
  const text = errorText(code, serverMessage, upload.file);
  const status = h("div", { class: "kk-status", role: "alert", "data-testid": "upload-error", "data-code": code || null },
    [h("span", { text: `${t.failed}: ${text}` })]);
  if (canRetry) {
    status.appendChild(h("button", { type: "button", "data-testid": "upload-retry", text: t.retry, onclick: () => {
      status.replaceWith(upload.status);
      upload.progress.hidden = false;
      send(clientId); // same client_id: never stored twice
    } }));
  }
  status.appendChild(h("button", { type: "button", "data-testid": "upload-remove", text: t.upload.remove, onclick: () => {
    S.uploads.delete(clientId);
    upload.el.remove();
    ui.empty.hidden = ui.log.children.length > 0;
    ui.attach.focus();
  } }));
  upload.status.replaceWith(status);
  scrollToBottom(false);
}

function errorText(code, serverMessage, file) {
  const known = t.upload.errors[code];
  if (typeof known === "function") {
    const max = S.attaching && S.attaching.max_bytes;
    return known(fileSize(file.size, locale()), max ? fileSize(max, locale()) : "");
  }
  return known || serverMessage || t.upload.errors.network;
}

/** The server's echo of an upload: its bubble goes (the message is drawn instead). */
export function settleUpload(clientId) {
  const upload = S.uploads.get(clientId);
  if (!upload) return false;
  S.uploads.delete(clientId);
  upload.el.remove();
  return true;
}
