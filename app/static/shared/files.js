// What the widget and the console share about attached files (docs/protocol.md,
// "Attachments"): sizes as people read them, the paperclip, and which files are images.

/** 1536 -> "1.5 KB", 10485760 -> "10 MB" (binary multiples, as the server counts). */
export function fileSize(bytes, locale) {
  const n = Number(bytes) || 0;
  const fmt = (v) => new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(v);
  if (n < 1024) return `${fmt(n)} B`;
  if (n < 1024 * 1024) return `${fmt(n / 1024)} KB`;
  return `${fmt(n / 1024 / 1024)} MB`;
}

const FILE_PATH = /^\/api\/attachments\/[0-9a-f]{32}(\/thumbnail)?$/;

/** The attachments of a message frame that are well formed: their URLs are paths to the
 * server's own files (anything else is skipped: never a link or a token sent elsewhere). */
export function attachmentsOf(m) {
  if (!m || !Array.isArray(m.attachments)) return [];
  return m.attachments.filter((a) => a && typeof a === "object" && typeof a.id === "string" &&
    typeof a.url === "string" && FILE_PATH.test(a.url) &&
    (a.thumbnail_url == null || (typeof a.thumbnail_url === "string" && FILE_PATH.test(a.thumbnail_url))));
}

/** An image shown by its thumbnail (it has one), or a file shown as a chip. */
export const isImage = (a) => typeof a.thumbnail_url === "string" && a.thumbnail_url !== "";

/** The size to show a thumbnail at, at most `max` px wide and high, keeping its shape. */
export function thumbSize(a, max) {
  const w = Number(a.width) || max;
  const h = Number(a.height) || max;
  const scale = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(24, Math.round(w * scale)), height: Math.max(24, Math.round(h * scale)) };
}

/**
 * Send one file as a message (POST multipart: `file`, `client_id`) with its progress.
 * @param {string} url The conversation's attachments route.
 * @param {object} headers The credentials (the conversation's token, or the CSRF token).
 * @param {File} file
 * @param {string} clientId The message's id (a resend with it is stored once).
 * @param {{progress: function(number), stored: function(), refused: function(string, string, number)}} on
 *   `refused(code, message, status)`: the server said no (status 0: the upload did not finish).
 */
export function sendFile(url, headers, file, clientId, on) {
  const form = new FormData();
  form.append("client_id", clientId);
  form.append("file", file, file.name);
  const xhr = new XMLHttpRequest(); // fetch() cannot tell how much has been sent
  xhr.open("POST", url);
  Object.keys(headers).forEach((name) => xhr.setRequestHeader(name, headers[name]));
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) on.progress(Math.min(99, Math.round((e.loaded / e.total) * 100)));
  };
  xhr.onload = () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      on.stored();
      return;
    }
    let error = {};
    try {
      error = (JSON.parse(xhr.responseText) || {}).error || {};
    } catch (err) { /* not JSON: a proxy's page */ }
    on.refused(error.code || "", error.message || "", xhr.status);
  };
  xhr.onerror = () => on.refused("network", "", 0);
  xhr.send(form);
}

// Static markup only: nothing from the server, the page or the user is interpolated.
export const PAPERCLIP =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M16.5 6.5v10.1a4.5 4.5 0 0 1-9 0V5.9a3 3 0 0 1 ' +
  '6 0v9.6a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5.9a4.5 4.5 0 0 0-9 0v10.7a6 6 0 0 0 12 0V6.5z"/></svg>';
export const DOCUMENT =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 ' +
  '2 0 0 1 2-2zm7 1.5V9h5.5zM8 13h8v1.5H8zm0 3.5h8V18H8z"/></svg>';
