// Attached files in the transcript: images as thumbnails that open the full picture in a
// viewer, other files (PDF) as a chip with name and size that downloads them.
//
// Files are fetched with the conversation's token in a header (never in a URL), from the
// server the widget came from, and shown as data: URLs (allowed by most shops' CSP).

import { h } from "../shared/dom.js";
import { attachmentsOf, fileSize, isImage, thumbSize, DOCUMENT } from "../shared/files.js";
import { S, t, ui, apiBase, locale, warn } from "./state.js";

const THUMB_PX = 220;
const loaded = new Map(); // url -> Promise<string> (a data: URL)

/** The files of message `m`, or null when it carries none. */
export function filesNode(m) {
  const files = attachmentsOf(m);
  if (!files.length) return null;
  const list = h("ul", { class: "kk-files", "aria-label": t.files.list });
  for (const a of files) list.appendChild(h("li", {}, [isImage(a) ? thumbnail(a) : chip(a)]));
  return list;
}

function thumbnail(a) {
  const size = thumbSize(a, THUMB_PX);
  const img = h("img", { alt: a.name, width: size.width, height: size.height, "data-testid": "attachment-thumbnail" });
  const button = h("button", {
    type: "button", class: "kk-thumb", "data-testid": "attachment-image", "data-attachment-id": a.id,
    "aria-label": t.files.openImage(String(a.name)),
  }, [img]);
  fetchData(a.thumbnail_url).then((src) => {
    img.src = src;
    button.setAttribute("data-loaded", "true");
  }).catch((err) => {
    warn("thumbnail not loaded", err);
    button.setAttribute("data-loaded", "false");
    img.alt = `${a.name} (${t.files.notLoaded})`;
  });
  button.addEventListener("click", () => openViewer(a, button));
  return button;
}

function chip(a) {
  const label = `${a.name} · ${fileSize(a.size, locale())}`;
  const button = h("button", {
    type: "button", class: "kk-file", "data-testid": "attachment-file", "data-attachment-id": a.id,
    "aria-label": t.files.download(label),
  }, [h("span", { class: "kk-file-icon" }), h("span", { class: "kk-file-name", text: a.name }),
    h("span", { class: "kk-file-size", text: fileSize(a.size, locale()) })]);
  button.firstChild.innerHTML = DOCUMENT;
  button.addEventListener("click", () => download(a, button));
  return button;
}

async function fetchBlob(url) {
  const response = await fetch(new URL(url, apiBase).href, {
    headers: { "X-Conversation-Token": S.token || "" }, credentials: "omit", cache: "default",
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.blob();
}

/** The file at `url` as a data: URL; thumbnails are kept (a replay shows them at once). */
function fetchData(url, keep = true) {
  if (loaded.has(url)) return loaded.get(url);
  const promise = fetchBlob(url).then((blob) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  }));
  if (keep) {
    loaded.set(url, promise);
    promise.catch(() => loaded.delete(url)); // a failure is tried again next time
  }
  return promise;
}

async function download(a, button) {
  button.setAttribute("aria-busy", "true");
  try {
    const blob = await fetchBlob(a.url);
    const href = URL.createObjectURL(blob);
    const link = h("a", { href, download: a.name, hidden: true });
    ui.root.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
  } catch (err) {
    warn("download failed", err);
    button.setAttribute("data-error", "true");
  } finally {
    button.removeAttribute("aria-busy");
  }
}

// ---- The viewer: the full image over the page ----------------------------------------------

let viewer = null;

function openViewer(a, trigger) {
  closeViewer(false);
  const img = h("img", { class: "kk-viewer-img", alt: a.name, "data-testid": "viewer-image" });
  const close = h("button", { type: "button", class: "kk-viewer-close", "data-testid": "viewer-close",
    "aria-label": t.files.closeImage, text: "×" });
  const save = h("button", { type: "button", class: "kk-viewer-save", text: t.files.save });
  const box = h("div", { class: "kk-viewer", role: "dialog", "aria-modal": "true", "aria-label": a.name,
    "data-testid": "viewer" }, [
    h("div", { class: "kk-viewer-bar" }, [h("span", { class: "kk-viewer-name", text: a.name }), save, close]),
    h("div", { class: "kk-viewer-body" }, [img]),
  ]);
  viewer = { box, trigger };
  close.addEventListener("click", () => closeViewer(true));
  save.addEventListener("click", () => download(a, save));
  box.addEventListener("click", (e) => {
    if (e.target === box || e.target.classList.contains("kk-viewer-body")) closeViewer(true);
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape" || e.key === "Esc") {
      e.stopPropagation(); // the picture closes, the chat stays open
      closeViewer(true);
    } else if (e.key === "Tab") { // keep focus on the viewer's two buttons
      e.preventDefault();
      (ui.root.activeElement === close ? save : close).focus();
    }
  });
  ui.wrap.appendChild(box);
  close.focus();
  fetchData(a.url, false).then((src) => {
    img.src = src;
  }).catch((err) => {
    warn("image not loaded", err);
    img.alt = `${a.name} (${t.files.notLoaded})`;
  });
}

export function closeViewer(returnFocus) {
  if (!viewer) return;
  const { box, trigger } = viewer;
  viewer = null;
  box.remove();
  // back where the customer was, without scrolling away from what arrived meanwhile
  if (returnFocus && trigger && trigger.isConnected) trigger.focus({ preventScroll: true });
}
