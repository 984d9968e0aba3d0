// The agent console, loaded as a module by app/templates/agent.html, which renders the
// shell: the root element #kk-agent (data-lang, data-csrf, data-user-id, data-user-name),
// the three landmarks (nav: queue, main: conversation, aside: context) and the canned
// responses.
//
// No dependencies, no build step. Speaks docs/agent-protocol.md over `/ws/agent` (same
// origin, session cookie) and renders message events as described in docs/protocol.md.
//
// Security rule: customer text, notes and every other field are set with textContent.
// Only a bot/agent/system message's `html` (sanitised by the server) is inserted as HTML,
// after cleaning it once more in an inert <template> (shared/sanitize.js).

import { createSocket, send, socket } from "./connection.js";
import { applyStrings, toast } from "./toasts.js";
import { renderQueue, renderMine, renderAgents, renderPresence, togglePresence, claimConversation, tickQueue } from "./queue.js";
import { newConv } from "./transcript.js";
import { setMode, saveDraft, submitComposer, insertIntoComposer, updateCounter, renderComposer, noteTyping, stopTyping } from "./composer.js";
import { renderConversation, renderContext } from "./context.js";
import { chooseFiles, onFilesChosen } from "./files.js";
import { buildDialogs, filterCanned, openTransfer, openClose } from "./dialogs.js";
import { $, E, S, root, t, collectElements } from "./state.js";

window.KakehashiAgent = {
  state() {
    return { connected: !!socket && socket.connected, openConversationId: S.openId, lastSeq: S.lastSeq };
  },
};

function wire() {
  applyStrings();

  E.bannerRetry.addEventListener("click", () => {
    if (!socket.connected) socket.reconnectNow();
  });
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
  E.attach.title = t.attach;
  E.attach.addEventListener("click", chooseFiles);
  E.fileInput.addEventListener("change", onFilesChosen);

  E.cannedFilter.addEventListener("input", filterCanned);
  E.cannedList.addEventListener("click", (e) => {
    const button = e.target && e.target.closest ? e.target.closest("[data-testid='insert-canned']") : null;
    if (!button) return;
    const li = button.closest("[data-testid='canned']");
    const text = li ? $("[data-role='canned-text']", li) : null;
    if (text) insertIntoComposer(text.textContent);
  });

  window.addEventListener("beforeunload", () => {
    stopTyping();
  });

  // Live waiting times and SLA states.
  setInterval(tickQueue, 1000);
}

function start() {
  collectElements();
  createSocket();
  buildDialogs();
  wire();

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
  socket.connect();
}

if (root) start(); // else: not the console page
