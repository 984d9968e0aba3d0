// The conversation's state banner, ending the chat (with confirmation), the rating card,
// and starting over.

import { h } from "../shared/dom.js";
import { socket, sendRaw } from "./connection.js";
import { hidePeerTyping, resetTranscript } from "./messages.js";
import { stopTyping, updateComposer } from "./composer.js";
import { updateChrome, scrollToBottom, atBottom } from "./panel.js";
import { S, t, ui, saveStored, openingTime } from "./state.js";

export function setConversationState(ev) {
  if (typeof ev.state !== "string") return;
  const focusWasOnEnd = ui.root.activeElement === ui.endYes;
  const stick = atBottom(); // a banner appearing above must not push the last message out of view
  S.conversationState = ev.state;
  S.handoffRequested = false;
  const banner = ui.stateBanner;
  banner.setAttribute("data-state", ev.state);
  ui.newBtn.hidden = ev.state !== "closed";
  if (ev.state === "waiting" && ev.offline === true) {
    // Nobody can answer now: no place in a queue to promise, only when the team is back.
    ui.stateText.textContent = t.offline(openingTime(ev.opens_at));
  } else if (ev.state === "waiting") {
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
  if (stick && ui.contactForm.hidden) scrollToBottom(true);
  if (wasHidden && !ui.csat.hidden) {
    scrollToBottom(true);
    // The customer just confirmed "End chat": take them straight to the question.
    if (focusWasOnEnd) ui.csat.querySelector("[data-score]").focus();
  }
}

export function showEndConfirm(show) {
  ui.endConfirm.hidden = !show;
  if (show) ui.endYes.focus();
  else if (!ui.endBtn.hidden) ui.endBtn.focus();
}

export function endChat() {
  if (!socket.connected) return;
  // The question stays until the closed `state` arrives and the rating card replaces it.
  if (sendRaw({ type: "end" })) stopTyping();
}

const FACES = ["😞", "😟", "😐", "😊", "😄"];

// The rating card follows S.csat (from the closed `state`, then each `rated`).
export function renderCsat() {
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
  const scores = h("div", { class: "kk-csat-scores", role: "group", "aria-labelledby": "kk-csat-q" });
  FACES.forEach((face, i) => {
    const button = h("button", { type: "button", "data-testid": "csat-score", "data-score": i + 1, "aria-pressed": "false" },
      [h("span", { class: "kk-csat-face", "aria-hidden": "true", text: face }), h("span", { text: String(choices[i] || i + 1) })]);
    button.addEventListener("click", () => sendRating(i + 1, S.csat && S.csat.comment));
    scores.appendChild(button);
  });
  const comment = h("textarea", { class: "kk-input", rows: 2, "data-testid": "csat-comment",
    "aria-label": texts.comment_prompt, placeholder: texts.comment_prompt });
  const form = h("form", { "data-testid": "csat-comment-form", hidden: true }, [
    comment, h("button", { type: "submit", class: "kk-send", "data-testid": "csat-comment-send", text: texts.comment_send }),
  ]);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (S.csat && S.csat.score) sendRating(S.csat.score, comment.value.trim());
  });
  comment.value = (S.csat && S.csat.comment) || "";
  ui.csat.textContent = "";
  ui.csat.appendChild(h("p", { class: "kk-csat-q", id: "kk-csat-q", text: texts.question }));
  ui.csat.appendChild(scores);
  ui.csat.appendChild(h("p", { class: "kk-csat-thanks", role: "status", "data-testid": "csat-thanks", hidden: true,
    text: texts.thanks }));
  ui.csat.appendChild(form);
}

function sendRating(score, comment) {
  if (!socket.connected || !S.csat || !S.csat.open) return;
  sendRaw({ type: "rate", score, comment: comment || null }); // acknowledged by `rated`
}

export function onRated(ev) {
  if (!S.csat || typeof ev.score !== "number") return;
  S.csat.rated = true;
  S.csat.score = ev.score;
  S.csat.comment = typeof ev.comment === "string" ? ev.comment : null;
  renderCsat();
  scrollToBottom(false);
}

export function startNewConversation() {
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
  socket.reconnectNow(); // a fresh socket whose hello carries no token
  updateChrome();
  updateComposer();
  ui.input.focus();
}

