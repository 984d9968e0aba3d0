// Knowledge gaps: what customers asked that the bot could not answer, grouped by topic,
// each with a button that drafts a new article and a form that teaches an existing article
// the topic's questions (when the article answers them but the bot did not find it).

import { cleanHtml } from "../shared/sanitize.js";
import { $, api, el, fmtTime, root, say } from "./api.js";

var REASONS = {
  declined: "declined",
  low_confidence: "low confidence",
  none_chosen: "offered articles, none taken",
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

// "Add these questions to an article": the article's language's published articles.
function teachForm(topic, lang, articles) {
  var form = el("form", { "class": "ed-teach", "data-testid": "gap-teach" });
  var id = "ed-teach-" + Math.random().toString(36).slice(2, 8);
  form.appendChild(el("label", { "for": id }, "The answer is in an article? Teach it these questions:"));
  var row = el("div", { "class": "ed-teach-row" });
  var select = el("select", { id: id, "class": "kk-input", "data-testid": "gap-teach-article" });
  select.appendChild(el("option", { value: "" }, "Choose an article…"));
  articles.filter(function (a) { return a.lang === lang; }).forEach(function (a) {
    select.appendChild(el("option", { value: a.id }, a.title + " (" + a.id + ")"));
  });
  var btn = el("button", { type: "submit", "class": "kk-btn kk-btn--small", "data-testid": "gap-teach-submit" }, "Add questions");
  row.appendChild(select);
  row.appendChild(btn);
  form.appendChild(row);
  var done = el("p", { "class": "ed-teach-done", "data-testid": "gap-teach-done", hidden: "" });
  form.appendChild(done);
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!select.value) { select.focus(); say("Choose the article that answers these questions.", "error"); return; }
    var questions = topic.examples && topic.examples.length ? topic.examples : [topic.label];
    btn.disabled = true;
    api("POST", "/api/articles/" + encodeURIComponent(select.value) + "/questions", { questions: questions }).then(function (a) {
      var live = a.live_revision === a.revision;
      done.textContent = "";
      done.appendChild(document.createTextNode(
        "Added " + questions.length + (questions.length === 1 ? " question" : " questions") + " to “" + a.title + "”" +
        (live ? "." : ": revision " + a.revision + " is a draft until you publish it. ")));
      if (!live) {
        done.appendChild(el("a", { href: "/editor/articles/" + encodeURIComponent(a.id), "data-testid": "gap-teach-review" }, "Review and publish"));
      }
      done.hidden = false;
      say("Added the questions to “" + a.title + "”.");
    }).catch(function (err) {
      say(err.message, "error");
    }).then(function () { btn.disabled = false; });
  });
  return form;
}

export function initGaps() {
  var period = $("[data-role=period]");
  var list = $("[data-role=topics]");
  var seq = 0;
  var articles = api("GET", "/api/articles?status=published").catch(function () { return []; });

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
    Promise.all([api("GET", "/api/gaps?days=" + encodeURIComponent(period.value)), articles]).then(function (both) {
      var data = both[0];
      var published = both[1] || [];
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
        if (t.offered && t.offered.length) {
          // what the bot offered and customers passed over: the right one may be missing
          var offered = el("dd", { "data-testid": "gap-offered" });
          t.offered.forEach(function (a, j) {
            if (j) offered.appendChild(document.createTextNode(", "));
            offered.appendChild(el("a", { href: "/editor/articles/" + encodeURIComponent(a.article_id) }, a.title));
            if (a.count > 1) offered.appendChild(document.createTextNode(" ×" + a.count));
          });
          dl.appendChild(el("dt", null, "Offered, not taken"));
          dl.appendChild(offered);
        }
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
        li.appendChild(teachForm(t, mainLang(t.languages), published));
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
