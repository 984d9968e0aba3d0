// "Try it" on the article page: ask the bot a question and see its decision, its answer
// and how it ranks the articles.

import { $, api, el, fmtNum } from "./api.js";

/**
 * Wire up the try-it form.
 * @param {function(): ?string} currentArticleId The article being edited (null: not saved yet).
 * @returns {function(): void} Asks the question again shortly (after a publish), if there is one.
 */
export function initTry(currentArticleId) {
  var tryForm = $("[data-role=try-form]");
  var tryInput = $("[data-testid=try-question]");
  var tryResult = $("[data-role=try-result]");

  var trySeq = 0;
  function runTry() {
    var q = tryInput.value.trim();
    if (!q) { tryInput.focus(); return; }
    var mine = ++trySeq;
    tryResult.textContent = "Asking…";
    api("POST", "/api/try", { question: q }).then(function (r) {
      if (mine !== trySeq) return;
      var articleId = currentArticleId();
      tryResult.textContent = "";
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

  return function askAgain() {
    if (tryInput.value.trim()) setTimeout(runTry, 1200);
  };
}
