// Knowledge gaps: what customers asked that the bot could not answer, grouped by topic,
// each with a button that drafts a new article.

import { cleanHtml } from "../shared/sanitize.js";
import { $, api, el, fmtTime, root, say } from "./api.js";

var REASONS = {
  declined: "declined",
  low_confidence: "low confidence",
  unhelpful: "marked unhelpful",
  person_after_answer: "answered, then asked for a person",
};

// The answers the bot gave that did not help: the question, the answer, the article cited.
function mistakesList(mistakes) {
  var box = el("details", { "class": "ed-mistakes", "data-testid": "gap-mistakes" });
  box.appendChild(el("summary", null,
    mistakes.length + (mistakes.length === 1 ? " answer that did not help" : " answers that did not help")));
  var ul = el("ul", { "class": "ed-mistake-list" });
  mistakes.forEach(function (m) {
    var li = el("li", { "class": "ed-mistake", "data-testid": "gap-mistake" });
    li.appendChild(el("p", { "class": "ed-mistake-q" }, "“" + m.question + "”"));
    var answer = el("blockquote", { "class": "ed-mistake-a", "aria-label": "The bot's answer" });
    answer.appendChild(cleanHtml(m.answer_html));
    li.appendChild(answer);
    var meta = el("p", { "class": "ed-mistake-meta" }, (REASONS[m.reason] || m.reason) + (m.article_id ? " · cited " : ""));
    if (m.article_id) {
      meta.appendChild(el("a", { href: "/editor/articles/" + encodeURIComponent(m.article_id) }, m.article_id));
    }
    li.appendChild(meta);
    ul.appendChild(li);
  });
  box.appendChild(ul);
  return box;
}

export function initGaps() {
  var period = $("[data-role=period]");
  var list = $("[data-role=topics]");
  var seq = 0;

  function counts(obj, labels) {
    return Object.keys(obj || {}).map(function (k) {
      return ((labels && labels[k]) || k) + " " + obj[k];
    }).join(", ");
  }
  function mainLang(langs) {
    var best = "en";
    var n = -1;
    Object.keys(langs || {}).forEach(function (k) { if (langs[k] > n) { n = langs[k]; best = k; } });
    return best;
  }

  function load() {
    var mine = ++seq;
    say("Loading…");
    root.setAttribute("aria-busy", "true");
    api("GET", "/api/gaps?days=" + encodeURIComponent(period.value)).then(function (data) {
      if (mine !== seq) return;
      var topics = (data && data.topics) || [];
      list.textContent = "";
      say(topics.length
        ? topics.length + (topics.length === 1 ? " topic" : " topics") + " from " + data.questions + (data.questions === 1 ? " question" : " questions") + " in the last " + data.days + " days."
        : "No unanswered questions in the last " + period.value + " days.");
      topics.forEach(function (t, i) {
        var li = el("li", { "class": "ed-panel ed-topic", "data-testid": "gap-topic" });
        var hid = "ed-topic-" + i;
        var head = el("div", { "class": "ed-topic-head" });
        head.appendChild(el("h2", { "class": "ed-h2", id: hid }, t.label));
        head.appendChild(el("span", { "class": "kk-badge" }, t.count + (t.count === 1 ? " question" : " questions")));
        li.setAttribute("aria-labelledby", hid);
        li.appendChild(head);
        var dl = el("dl", { "class": "ed-topic-meta" });
        function row(k, v) { dl.appendChild(el("dt", null, k)); dl.appendChild(el("dd", null, v)); }
        row("Languages", counts(t.languages));
        row("Reasons", counts(t.reasons, REASONS));
        var dd = el("dd");
        dd.appendChild(el("time", { datetime: t.latest }, fmtTime(t.latest)));
        dl.appendChild(el("dt", null, "Latest"));
        dl.appendChild(dd);
        li.appendChild(dl);
        var ul = el("ul", { "class": "ed-examples", "aria-label": "Example questions" });
        (t.examples || []).forEach(function (q) { ul.appendChild(el("li", null, q)); });
        li.appendChild(ul);
        if (t.mistakes && t.mistakes.length) li.appendChild(mistakesList(t.mistakes));
        var btn = el("button", { type: "button", "class": "kk-btn kk-btn--primary kk-btn--small", "data-testid": "gap-new-article" }, "New article");
        btn.setAttribute("aria-label", "New article for topic: " + t.label);
        btn.addEventListener("click", function () {
          btn.disabled = true;
          say("Creating a draft…");
          api("POST", "/api/gaps/draft", { questions: t.examples || [t.label], lang: mainLang(t.languages) }).then(function (a) {
            location.href = "/editor/articles/" + encodeURIComponent(a.id);
          }).catch(function (err) {
            btn.disabled = false;
            say(err.message, "error");
          });
        });
        li.appendChild(btn);
        list.appendChild(li);
      });
    }).catch(function (err) {
      if (mine !== seq) return;
      say(err.message, "error");
    }).then(function () {
      if (mine === seq) root.removeAttribute("aria-busy");
    });
  }

  period.addEventListener("change", load);
  load();
}
