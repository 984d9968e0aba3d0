// The chat widget, loaded by /widget.js (the one tag a shop puts on its pages):
//   <script src="https://HOST/widget.js" data-lang="ja" async></script>
// Optional attributes: data-lang (en|ja), data-position (right|left), data-title.
//
// No dependencies, no build step: ES modules served by the app. Everything is rendered
// inside a shadow root so the host page's CSS cannot reach in and ours cannot leak out. It
// speaks the WebSocket protocol in docs/protocol.md (`/ws/chat` on the origin the script
// was loaded from).
//
// Security rule: customer text and every field other than a bot/agent/system message's
// `html` is set with textContent. `html` is already sanitised by the server; we clean it
// once more (defence in depth, shared/sanitize.js) before inserting it.

import { connect, createSocket, socket } from "./connection.js";
import { openPanel, closePanel, openIfRequested } from "./panel.js";
import { build } from "./ui.js";
import { S, configure, warn } from "./state.js";

/**
 * Start the widget.
 * @param {{scriptUrl: string, lang: string, position: string, title: string}} config
 *   What the loader read from its <script> tag.
 * @param {object} api window.Kakehashi, set up by the loader; its methods are replaced.
 * @param {{open: boolean}} early Whether the page called Kakehashi.open() already.
 */
export function start(config, api, early) {
  configure(config);
  createSocket();
  api.open = () => openPanel();
  api.close = () => closePanel(false);
  api.state = () => ({
    connected: socket.connected,
    conversationState: S.conversationState,
    conversationId: S.conversationId,
    lastSeq: S.lastSeq,
    token: S.token,
  });
  if (early && early.open) openPanel(); // remembered until the panel exists
  const run = () => {
    try { build(); } catch (err) { warn("could not start", err); return; }
    // A returning customer reconnects at once (to see replies that came meanwhile); a new
    // visitor connects when opening the chat, so browsing the shop creates no conversation.
    if (S.token || S.resume) connect();
    if (S.resume) openPanel(); // the customer followed the mail's link to this chat
    openIfRequested();
  };
  if (document.body) run();
  else document.addEventListener("DOMContentLoaded", run, { once: true });
}
