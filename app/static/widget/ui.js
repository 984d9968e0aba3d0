// Building the widget: a <kakehashi-widget> element with an open shadow root holding the
// launcher and the panel, and the listeners that wire them up.

import { h } from "../shared/dom.js";
import { sendRaw } from "./connection.js";
import { submit, updateComposer, noteTyping, requestHandoff } from "./composer.js";
import { showEndConfirm, endChat, startNewConversation } from "./ending.js";
import { openPanel, closePanel, updateChrome } from "./panel.js";
import { chooseFiles, onFilesChosen } from "./upload.js";
import { PAPERCLIP } from "../shared/files.js";
import { CSS, CHAT_ICON } from "./styles.js";
import { S, t, lang, position, title, dialogLabel, setUi } from "./state.js";

export function build() {
  const host = h("kakehashi-widget", { "data-kakehashi": "" });
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = CSS;
  root.appendChild(style);

  const wrap = h("div", { class: "kk-root" + (position === "left" ? " kk-left" : ""), lang });

  const launcher = h("button", {
    type: "button", class: "kk-launcher", "data-testid": "launcher",
    "aria-label": t.open, "aria-expanded": "false", "aria-controls": "kk-panel",
  });
  launcher.innerHTML = CHAT_ICON;
  const badge = h("span", { class: "kk-badge", "aria-hidden": "true", hidden: true });
  launcher.appendChild(badge);

  const titleEl = h("h2", { class: "kk-title", id: "kk-title", text: title });
  const closeBtn = h("button", { type: "button", class: "kk-close", "aria-label": t.close, "data-testid": "close" });
  closeBtn.textContent = "×";
  const header = h("div", { class: "kk-header" }, [titleEl, closeBtn]);

  const connBanner = h("div", { class: "kk-banner kk-conn", role: "status", "data-testid": "connection-banner", hidden: true });
  const stateText = h("span");
  const newBtn = h("button", { type: "button", "data-testid": "new-conversation", hidden: true, text: t.newConversation });
  const stateBanner = h("div", { class: "kk-banner kk-state", role: "status", "data-testid": "state-banner", hidden: true },
    [stateText, h("br"), newBtn]);
  // Offline follow-up: outside business hours or with nobody online, the customer can
  // leave an e-mail address; the conversation stays in the queue.
  const contactEmail = h("input", { type: "email", class: "kk-input", required: true,
    "aria-label": t.contactEmail, placeholder: t.contactEmail, "data-testid": "contact-email" });
  const contactSend = h("button", { type: "submit", class: "kk-send", text: t.contactSend,
    "data-testid": "contact-send" });
  // Compact: one line of text and one row, at the end of the conversation (what the
  // customer typed is the message), so the handoff notice above stays in view.
  const contactForm = h("form", { class: "kk-contact", "data-testid": "contact-form", "aria-labelledby": "kk-contact-intro", hidden: true },
    [h("p", { id: "kk-contact-intro", text: t.contactIntro }), h("div", { class: "kk-row" }, [contactEmail, contactSend])]);

  const log = h("div", { class: "kk-log", role: "log", "aria-live": "polite", "aria-label": t.log, "data-testid": "log" });
  const typingText = h("span", { class: "kk-sr", text: t.typingBot });
  const typing = h("div", { class: "kk-typing", "data-testid": "typing-indicator", role: "status", hidden: true }, [
    h("span", { class: "kk-dot", "aria-hidden": "true" }), h("span", { class: "kk-dot", "aria-hidden": "true" }),
    h("span", { class: "kk-dot", "aria-hidden": "true" }), typingText,
  ]);
  const empty = h("p", { class: "kk-empty", text: t.empty });
  // Once the conversation has ended: "How was your conversation?" (built by renderCsat
  // from the texts the server sends in the conversation's language).
  const csat = h("section", { class: "kk-csat", "data-testid": "csat", "aria-labelledby": "kk-csat-q", hidden: true });
  const body = h("div", { class: "kk-body" }, [empty, log, typing, contactForm, csat]);

  const handoff = h("button", { type: "button", class: "kk-handoff", "data-testid": "handoff", text: t.handoff });
  const endBtn = h("button", { type: "button", class: "kk-end", "data-testid": "end-chat", "aria-haspopup": "true",
    hidden: true, text: t.endChat });
  const endYes = h("button", { type: "button", class: "kk-danger", "data-testid": "end-confirm", text: t.endConfirmYes });
  const endNo = h("button", { type: "button", "data-testid": "end-cancel", text: t.endCancel });
  const endConfirm = h("div", { class: "kk-confirm", role: "group", "aria-labelledby": "kk-end-q",
    "data-testid": "end-confirmation", hidden: true }, [h("p", { id: "kk-end-q", text: t.endConfirm }), endYes, endNo]);
  const input = h("textarea", {
    class: "kk-input", id: "kk-input", rows: 1, placeholder: t.placeholder, "aria-label": t.inputLabel,
    "aria-describedby": "kk-counter", "data-testid": "input", autocomplete: "off",
  });
  const send = h("button", { type: "button", class: "kk-send", "data-testid": "send", disabled: true, text: t.send });
  // A photo or a PDF: the paperclip opens the picker (a real button: keyboard and screen
  // readers work as for any other); shown once the server says what may be attached.
  const attach = h("button", { type: "button", class: "kk-attach", "data-testid": "attach",
    "aria-label": t.upload.attach, title: t.upload.attach, hidden: true, disabled: true });
  attach.innerHTML = PAPERCLIP;
  const fileInput = h("input", { type: "file", multiple: true, hidden: true, tabindex: "-1",
    "aria-hidden": "true", "data-testid": "file-input" });
  const counter = h("div", { class: "kk-counter", id: "kk-counter", "data-testid": "counter", hidden: true });
  const composer = h("div", { class: "kk-composer" }, [
    endConfirm, h("div", { class: "kk-actions" }, [handoff, endBtn]), h("div", { class: "kk-row" }, [attach, input, send, fileInput]), counter,
  ]);

  const panel = h("div", {
    class: "kk-panel", id: "kk-panel", role: "dialog", "aria-label": dialogLabel,
    "data-testid": "panel", hidden: true,
  }, [header, connBanner, stateBanner, body, composer]);

  wrap.appendChild(launcher);
  wrap.appendChild(panel);
  root.appendChild(wrap);
  document.body.appendChild(host);

  setUi({ host, root, wrap, attach, fileInput, launcher, badge, panel, closeBtn, connBanner, stateBanner, stateText, newBtn,
    body, empty, log, typing, typingText, handoff, input, send, counter, contactForm, contactEmail,
    csat, endBtn, endConfirm, endYes });

  contactForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const email = contactEmail.value.trim();
    if (!email) return;
    if (sendRaw({ type: "contact", email })) {
      S.contactSent = true;
      contactForm.hidden = true;
    }
  });

  launcher.addEventListener("click", () => (S.open ? closePanel(true) : openPanel()));
  closeBtn.addEventListener("click", () => closePanel(true));
  wrap.addEventListener("keydown", (e) => {
    if (S.open && (e.key === "Escape" || e.key === "Esc")) {
      e.preventDefault();
      closePanel(true);
    }
  });
  input.addEventListener("keydown", (e) => {
    // Never send while an IME is composing (Japanese input confirms with Enter).
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    updateComposer();
    noteTyping();
  });
  send.addEventListener("click", submit);
  attach.addEventListener("click", chooseFiles);
  fileInput.addEventListener("change", onFilesChosen);
  handoff.addEventListener("click", requestHandoff);
  endBtn.addEventListener("click", () => showEndConfirm(true));
  endNo.addEventListener("click", () => showEndConfirm(false));
  endYes.addEventListener("click", endChat);
  endConfirm.addEventListener("keydown", (e) => {
    if (e.key === "Escape" || e.key === "Esc") {
      e.stopPropagation(); // cancel the question, keep the panel open
      showEndConfirm(false);
    }
  });
  newBtn.addEventListener("click", startNewConversation);

  followVisualViewport(wrap);
  updateComposer();
  updateChrome();
}

// On a phone, a page wider than the screen (a wide header, a table) makes the layout
// viewport bigger than what is visible, and `position: fixed` follows the layout viewport:
// the launcher would sit off screen. Keep it, and the full-screen panel, on what is seen.
function followVisualViewport(wrap) {
  const vv = window.visualViewport;
  if (!vv) return;
  const place = () => {
    const right = Math.max(0, window.innerWidth - (vv.offsetLeft + vv.width));
    const bottom = Math.max(0, window.innerHeight - (vv.offsetTop + vv.height));
    wrap.style.setProperty("--kk-dx", right + "px");
    wrap.style.setProperty("--kk-dy", bottom + "px");
    wrap.style.setProperty("--kk-vl", vv.offsetLeft + "px");
    wrap.style.setProperty("--kk-vt", vv.offsetTop + "px");
    wrap.style.setProperty("--kk-vw", vv.width + "px");
    wrap.style.setProperty("--kk-vh", vv.height + "px");
  };
  vv.addEventListener("resize", place);
  vv.addEventListener("scroll", place);
  window.addEventListener("resize", place);
  place();
}
