// "Try it" on the article page: ask the bot a question and see its decision, its answer
// and how it ranks the articles.

import { $, api, el, fmtNum } from "./api.js";

/**
 * Wire up the try-it form.
 * @param {function(): {id: ?string, revision: ?number, staged: boolean}} current The article
 *   being edited (id null: not saved yet); `staged`: its latest revision is not live.
 * @returns {{refresh: function(): void, askAgain: function(): void}}
 */
export function initTry(current) {
  var tryForm = $("[data-role=try-form]");
  var tryInput = $("[data-testid=try-question]");
  var tryResult = $("[data-role=try-result]");
  var draftWrap = $("[data-role=try-draft-wrap]");
  var draftBox = $("[data-testid=try-draft]");
  var draftLabel = $("[data-role=try-draft-label]");

  /** Offer the draft preview only when there is a saved revision the bot does not use. */
  function offerDraft() {
    var a = current();
    draftWrap.hidden = !a.staged;
    if (!a.staged) draftBox.checked = false;
    else draftLabel.textContent = "Answer with the draft (revision " + a.revision + ") instead of what is live";
  }
  tryInput.addEventListener("focus", offerDraft);

  var trySeq = 0;
  function runTry() {
    var q = tryInput.value.trim();
    if (!q) { tryInput.focus(); return; }
    var mine = ++trySeq;
    offerDraft();
    var a = current();
    var withDraft = draftBox.checked && a.staged;
    tryResult.textContent = "Asking…";
    api("POST", "/api/try", { question: q, article_id: a.id, draft: withDraft }).then(function (r) {
      if (mine !== trySeq) return;
      var articleId = a.id;
      tryResult.textContent = "";
      tryResult.appendChild(el("p", { "class": "ed-source kk-badge " + (r.draft_revision ? "ed-current" : "ed-live"), "data-testid": "try-source" },
        r.draft_revision ? "With the draft, revision " + r.draft_revision + " (not live)" : "As the bot answers customers now"));
      var dl = el("dl", { "class": "ed-try-meta" });
      function row(k, v) { dl.appendChild(el("dt", null, k)); dl.appendChild(el("dd", null, v)); }
      row("Decision", r.decision);
      row("Would answer", r.would_answer);
      row("Confidence", fmtNum(r.confidence));
      row("Language", r.lang);
      tryResult.appendChild(dl);
      tryResult.appendChild(el("h3", { "class": "ed-h3" }, "Answer"));
      var ans = el("div", { "class": "ed-answer kk-md" });
      ans.innerHTML = r.html || ""; // sanitised by the server
      tryResult.appendChild(ans);
      tryResult.appendChild(el("h3", { "class": "ed-h3" }, "Ranked articles"));
      var arts = r.articles || [];
      if (!arts.length) {
        tryResult.appendChild(el("p", { "class": "kk-empty" }, "No articles matched."));
      } else {
        var table = el("table", { "class": "ed-table ed-table--small" });
        var thead = el("thead");
        var hr = el("tr");
        ["#", "Article", "Score", "Dense", "Lexical"].forEach(function (h) { hr.appendChild(el("th", { scope: "col" }, h)); });
        thead.appendChild(hr);
        table.appendChild(thead);
        var tb = el("tbody");
        arts.forEach(function (a, i) {
          var tr = el("tr", { "data-article-id": a.article_id });
          if (a.article_id === articleId) tr.className = "ed-this";
          tr.appendChild(el("td", { "class": "ed-num" }, i + 1));
          var td = el("td");
          td.appendChild(el("a", { href: "/editor/articles/" + encodeURIComponent(a.article_id) }, a.title || a.article_id));
          if (a.article_id === articleId) td.appendChild(el("span", { "class": "kk-badge ed-current" }, "this article"));
          tr.appendChild(td);
          tr.appendChild(el("td", { "class": "ed-num" }, fmtNum(a.score)));
          tr.appendChild(el("td", { "class": "ed-num" }, fmtNum(a.dense)));
          tr.appendChild(el("td", { "class": "ed-num" }, fmtNum(a.lexical)));
          tb.appendChild(tr);
        });
        table.appendChild(tb);
        tryResult.appendChild(table);
      }
    }).catch(function (err) {
      if (mine !== trySeq) return;
      tryResult.textContent = "";
      tryResult.appendChild(el("p", { "class": "ed-message ed-message--error" }, err.message));
    });
  }
  tryForm.addEventListener("submit", function (e) { e.preventDefault(); runTry(); });

  return {
    /** Show or hide the draft choice for the article's current state. */
    refresh: offerDraft,
    /** Ask the question again shortly (after a publish), if there is one. */
    askAgain: function () {
      offerDraft();
      if (tryInput.value.trim()) setTimeout(runTry, 1200);
    }
  };
}
