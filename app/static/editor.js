/* Kakehashi content editor: article list, article editor, knowledge gaps.
 * Vanilla ES2019, no dependencies. User-typed text is only ever set with textContent;
 * the only HTML inserted is the server-sanitised `html` of /api/preview and /api/try. */
(function () {
  "use strict";

  var root = document.querySelector("main[data-page]");
  if (!root) return;
  var CSRF = root.getAttribute("data-csrf") || "";

  // ---------------------------------------------------------------- helpers
  function $(sel, scope) { return (scope || root).querySelector(sel); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
      });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function fmtTime(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toLocaleString();
  }
  function fmtNum(n, digits) {
    return typeof n === "number" && isFinite(n) ? n.toFixed(digits === undefined ? 3 : digits) : "—";
  }

  function errorMessage(data, status) {
    if (data && data.error && data.error.message) return data.error.message;
    if (data && Array.isArray(data.detail)) {
      return data.detail.map(function (d) {
        var loc = Array.isArray(d.loc) ? d.loc.filter(function (p) { return p !== "body"; }).join(".") : "";
        return (loc ? loc + ": " : "") + (d.msg || "invalid");
      }).join("; ");
    }
    if (data && typeof data.detail === "string") return data.detail;
    return "Request failed (HTTP " + status + ")";
  }

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      opts.headers["X-CSRF-Token"] = CSRF;
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body === undefined ? {} : body);
    }
    return fetch(url, opts).then(function (res) {
      return res.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
        if (!res.ok) {
          var err = new Error(errorMessage(data, res.status));
          err.status = res.status;
          err.data = data;
          throw err;
        }
        return data;
      });
    }, function () {
      throw new Error("Network error: could not reach the server.");
    });
  }

  var msgTimer = null;
  function say(text, kind) {
    var box = $("[data-role=message]");
    if (!box) return;
    box.textContent = text || "";
    box.className = "ed-message" + (kind ? " ed-message--" + kind : "");
    clearTimeout(msgTimer);
  }

  function statusBadge(status) {
    return el("span", { "class": "kk-badge ed-status ed-status--" + (status || "unknown") }, status || "—");
  }

  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // ---------------------------------------------------------------- list page
  function initList() {
    var form = $("[data-role=filters]");
    var rows = $("[data-role=rows]");
    var count = $("[data-role=count]");
    var seq = 0;

    // Restore filters from the URL so a search can be bookmarked / navigated back to.
    var params = new URLSearchParams(location.search);
    ["q", "lang", "tag", "status", "updated_days"].forEach(function (k) {
      if (params.has(k) && form.elements[k]) form.elements[k].value = params.get(k);
    });

    function load() {
      var qs = new URLSearchParams();
      ["q", "lang", "tag", "status", "updated_days"].forEach(function (k) {
        var v = (form.elements[k].value || "").trim();
        if (v) qs.set(k, v);
      });
      var query = qs.toString();
      try { history.replaceState(null, "", location.pathname + (query ? "?" + query : "")); } catch (e) { /* ignore */ }
      var mine = ++seq;
      root.setAttribute("aria-busy", "true");
      api("GET", "/api/articles" + (query ? "?" + query : "")).then(function (list) {
        if (mine !== seq) return;
        render(list || []);
        say("");
      }).catch(function (err) {
        if (mine !== seq) return;
        say(err.message, "error");
        count.textContent = "Could not load articles";
      }).then(function () {
        if (mine === seq) root.removeAttribute("aria-busy");
      });
    }

    function render(list) {
      rows.textContent = "";
      count.textContent = list.length === 1 ? "1 article" : list.length + " articles";
      if (!list.length) {
        var tr = el("tr");
        var td = el("td", { colspan: "7", "class": "kk-empty" }, "No articles match these filters.");
        tr.appendChild(td);
        rows.appendChild(tr);
        return;
      }
      list.forEach(function (a) {
        var tr = el("tr", { "data-testid": "article-row", "data-article-id": a.id, "data-status": a.status });
        var t = el("td");
        t.appendChild(el("a", { href: "/editor/articles/" + encodeURIComponent(a.id) }, a.title || a.id));
        tr.appendChild(t);
        tr.appendChild(el("td", { "class": "ed-mono" }, a.id));
        var l = el("td");
        l.appendChild(el("span", { "class": "kk-badge kk-badge--lang", lang: a.lang }, a.lang));
        tr.appendChild(l);
        var s = el("td");
        s.appendChild(statusBadge(a.status));
        tr.appendChild(s);
        var tg = el("td");
        (a.tags || []).forEach(function (tag) {
          tg.appendChild(el("span", { "class": "kk-badge kk-tag" }, tag));
        });
        tr.appendChild(tg);
        tr.appendChild(el("td", { "class": "ed-num" }, a.revision));
        var u = el("td");
        u.appendChild(el("time", { datetime: a.updated_at }, fmtTime(a.updated_at)));
        if (a.updated_by) u.appendChild(el("span", { "class": "ed-by" }, " by " + a.updated_by));
        tr.appendChild(u);
        rows.appendChild(tr);
      });
    }

    var later = debounce(load, 300);
    form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
    form.elements.q.addEventListener("input", later);
    form.elements.tag.addEventListener("input", later);
    ["lang", "status", "updated_days"].forEach(function (k) {
      form.elements[k].addEventListener("change", load);
    });
    load();
  }

  // ---------------------------------------------------------------- article page
  function initArticle() {
    var form = $("[data-role=form]");
    var f = {
      id: $("[data-testid=field-id]"),
      title: $("[data-testid=field-title]"),
      lang: $("[data-testid=field-lang]"),
      tags: $("[data-testid=field-tags]"),
      url: $("[data-testid=field-url]"),
      body: $("[data-testid=field-body]"),
      note: $("[data-testid=field-note]")
    };
    var btnSave = $("[data-testid=save]");
    var btnPublish = $("[data-testid=publish]");
    var btnArchive = $("[data-testid=archive]");
    var statusEl = $("[data-testid=status]");
    var revEl = $("[data-testid=revision]");
    var preview = $("[data-role=preview]");
    var historyList = $("[data-role=history]");
    var historyEmpty = $("[data-role=history-empty]");
    var diffWrap = $("[data-role=diff-wrap]");
    var diffTitle = $("[data-role=diff-title]");
    var diffPre = $("[data-role=diff]");
    var tryForm = $("[data-role=try-form]");
    var tryInput = $("[data-testid=try-question]");
    var tryResult = $("[data-role=try-result]");

    var articleId = root.getAttribute("data-article-id") || null;
    var revision = null;
    var busy = false;
    var dirty = false;

    function setBusy(on) {
      busy = on;
      btnSave.disabled = on;
      btnPublish.disabled = on || !articleId;
      btnArchive.disabled = on || !articleId;
      if (on) root.setAttribute("aria-busy", "true"); else root.removeAttribute("aria-busy");
    }

    function showState(a) {
      statusEl.textContent = a.status || "—";
      statusEl.className = "kk-badge ed-status ed-status--" + (a.status || "unknown");
      revEl.textContent = a.revision === null || a.revision === undefined ? "—" : String(a.revision);
      revision = a.revision;
      btnPublish.textContent = a.status === "published" ? "Publish again" : "Publish";
      btnArchive.disabled = busy || !articleId || a.status === "archived";
    }

    function fill(a) {
      f.id.value = a.id;
      f.title.value = a.title || "";
      setLang(a.lang || "en");
      f.tags.value = (a.tags || []).join(", ");
      f.url.value = a.url || "";
      f.body.value = a.body || "";
      f.note.value = "";
      dirty = false;
      showState(a);
      var h = $("[data-role=heading]");
      if (h) h.textContent = "Edit article: " + (a.title || a.id);
      document.title = (a.title || a.id) + " · Editor · Kakehashi";
      renderPreview();
    }

    function setLang(code) {
      var found = Array.prototype.some.call(f.lang.options, function (o) { return o.value === code; });
      if (!found) f.lang.appendChild(el("option", { value: code }, code));
      f.lang.value = code;
    }

    function payload() {
      var url = f.url.value.trim();
      return {
        title: f.title.value.trim(),
        lang: f.lang.value,
        body: f.body.value,
        tags: f.tags.value.split(/[,、，]/).map(function (t) { return t.trim(); }).filter(Boolean),
        url: url || null,
        note: f.note.value.trim()
      };
    }

    function validate() {
      var missing = [];
      if (!articleId && !f.id.value.trim()) missing.push([f.id, "ID"]);
      if (!f.title.value.trim()) missing.push([f.title, "Title"]);
      if (!f.body.value.trim()) missing.push([f.body, "Body"]);
      [f.id, f.title, f.body].forEach(function (x) { x.removeAttribute("aria-invalid"); });
      if (missing.length) {
        missing.forEach(function (m) { m[0].setAttribute("aria-invalid", "true"); });
        say("Please fill in: " + missing.map(function (m) { return m[1]; }).join(", ") + ".", "error");
        missing[0][0].focus();
        return false;
      }
      if (!articleId && !/^[a-z0-9][a-z0-9_-]*$/.test(f.id.value.trim())) {
        f.id.setAttribute("aria-invalid", "true");
        say("The ID may only contain lower-case letters, digits, dashes and underscores.", "error");
        f.id.focus();
        return false;
      }
      return true;
    }

    function load() {
      if (!articleId) return Promise.resolve();
      return api("GET", "/api/articles/" + encodeURIComponent(articleId)).then(fill, function (err) {
        say(err.message, "error");
      }).then(loadHistory);
    }

    // --- preview
    var previewSeq = 0;
    function renderPreview() {
      var mine = ++previewSeq;
      var md = f.body.value;
      if (!md.trim()) { preview.textContent = ""; return; }
      api("POST", "/api/preview", { markdown: md }).then(function (data) {
        if (mine !== previewSeq) return;
        preview.innerHTML = (data && data.html) || ""; // sanitised by the server
      }).catch(function (err) {
        if (mine !== previewSeq) return;
        preview.textContent = "Preview unavailable: " + err.message;
      });
    }
    f.body.addEventListener("input", debounce(renderPreview, 300));
    Object.keys(f).forEach(function (k) {
      f[k].addEventListener("input", function () { dirty = true; });
    });
    window.addEventListener("beforeunload", function (e) {
      if (dirty) { e.preventDefault(); e.returnValue = ""; }
    });

    // --- save / publish / archive
    function save() {
      if (busy || !validate()) return Promise.resolve(null);
      setBusy(true);
      say("Saving…");
      var body = payload();
      var req;
      if (!articleId) {
        body.id = f.id.value.trim();
        req = api("POST", "/api/articles", body);
      } else {
        body.expected_revision = revision;
        req = api("PUT", "/api/articles/" + encodeURIComponent(articleId), body);
      }
      return req.then(function (a) {
        var created = !articleId;
        dirty = false;
        if (created) {
          articleId = a.id;
          root.setAttribute("data-article-id", a.id);
          f.id.readOnly = true;
          f.id.setAttribute("aria-readonly", "true");
          try { history.replaceState(null, "", "/editor/articles/" + encodeURIComponent(a.id)); } catch (e) { /* ignore */ }
        }
        f.note.value = "";
        showState(a);
        var h = $("[data-role=heading]");
        if (h) h.textContent = "Edit article: " + (a.title || a.id);
        say("Saved revision " + a.revision + (a.status === "published" ? " — the bot uses it within a second" : "") + ".", "ok");
        loadHistory();
        return a;
      }).catch(function (err) {
        if (err.status === 409 && articleId) {
          say("Someone else saved this article meanwhile (" + err.message + "). Copy your changes, then reload the page to see theirs.", "error");
        } else {
          say(err.message, "error");
        }
        return null;
      }).then(function (a) { setBusy(false); return a; });
    }

    function setStatus(action) {
      if (busy || !articleId) return;
      var pre = dirty ? save() : Promise.resolve(true);
      pre.then(function (ok) {
        if (!ok) return;
        setBusy(true);
        say(action === "publish" ? "Publishing…" : "Archiving…");
        api("POST", "/api/articles/" + encodeURIComponent(articleId) + "/" + action).then(function (a) {
          showState(a);
          if (action === "publish") {
            say("Published — the bot uses it within a second.", "ok");
            loadHistory();
            if (tryInput.value.trim()) setTimeout(runTry, 1200);
          } else {
            say("Archived — the bot no longer uses it.", "ok");
            loadHistory();
          }
        }).catch(function (err) {
          say(err.message, "error");
        }).then(function () { setBusy(false); showState({ status: statusEl.textContent, revision: revision }); });
      });
    }

    form.addEventListener("submit", function (e) { e.preventDefault(); save(); });
    btnPublish.addEventListener("click", function () { setStatus("publish"); });
    btnArchive.addEventListener("click", function () {
      if (window.confirm("Archive this article? The bot will stop using it.")) setStatus("archive");
    });

    // --- history
    function loadHistory() {
      if (!articleId) return Promise.resolve();
      return api("GET", "/api/articles/" + encodeURIComponent(articleId) + "/revisions").then(function (revs) {
        historyList.textContent = "";
        revs = revs || [];
        historyEmpty.hidden = revs.length > 0;
        historyEmpty.textContent = "No revisions yet.";
        revs.forEach(function (r, i) {
          var li = el("li", { "class": "ed-rev", "data-testid": "revision-row", "data-revision": r.number });
          var head = el("div", { "class": "ed-rev-head" });
          head.appendChild(el("strong", null, "Revision " + r.number));
          if (r.status) head.appendChild(statusBadge(r.status));
          if (r.number === revision) head.appendChild(el("span", { "class": "kk-badge ed-current" }, "current"));
          li.appendChild(head);
          var meta = el("div", { "class": "ed-rev-meta" });
          meta.appendChild(el("span", null, r.author || "unknown"));
          meta.appendChild(document.createTextNode(" · "));
          meta.appendChild(el("time", { datetime: r.created_at }, fmtTime(r.created_at)));
          li.appendChild(meta);
          if (r.note) li.appendChild(el("div", { "class": "ed-rev-note" }, r.note));
          var actions = el("div", { "class": "ed-rev-actions" });
          var prev = revs[i + 1];
          if (prev) {
            var d = el("button", { type: "button", "class": "kk-btn kk-btn--small", "data-testid": "diff-button" }, "Diff with previous");
            d.setAttribute("aria-label", "Diff revision " + r.number + " with revision " + prev.number);
            d.addEventListener("click", function () { showDiff(prev.number, r.number); });
            actions.appendChild(d);
          }
          if (r.number !== revision) {
            var rv = el("button", { type: "button", "class": "kk-btn kk-btn--small", "data-testid": "revert" }, "Revert to this");
            rv.setAttribute("aria-label", "Revert to revision " + r.number);
            rv.addEventListener("click", function () { revert(r.number); });
            actions.appendChild(rv);
          }
          li.appendChild(actions);
          historyList.appendChild(li);
        });
      }).catch(function (err) {
        historyEmpty.hidden = false;
        historyEmpty.textContent = "Could not load the history: " + err.message;
      });
    }

    function showDiff(a, b) {
      api("GET", "/api/articles/" + encodeURIComponent(articleId) + "/diff?a=" + a + "&b=" + b).then(function (data) {
        diffPre.textContent = "";
        var text = (data && data.diff) || "";
        diffTitle.textContent = "Changes from revision " + a + " to " + b;
        if (!text.trim()) {
          diffPre.appendChild(el("span", { "class": "ed-diff-line" }, "(no differences)"));
        } else {
          text.replace(/\n$/, "").split("\n").forEach(function (line) {
            var cls = "ed-diff-line";
            if (line.indexOf("+++") === 0 || line.indexOf("---") === 0) cls += " ed-diff-file";
            else if (line.charAt(0) === "+") cls += " ed-diff-add";
            else if (line.charAt(0) === "-") cls += " ed-diff-del";
            else if (line.indexOf("@@") === 0) cls += " ed-diff-hunk";
            var span = el("span", { "class": cls }, line + "\n");
            diffPre.appendChild(span);
          });
        }
        diffWrap.hidden = false;
        diffTitle.focus();
      }).catch(function (err) { say(err.message, "error"); });
    }

    function revert(number) {
      if (busy) return;
      if (dirty && !window.confirm("You have unsaved changes. Revert anyway and lose them?")) return;
      setBusy(true);
      api("POST", "/api/articles/" + encodeURIComponent(articleId) + "/revert", { revision: number }).then(function (a) {
        say("Reverted to revision " + number + " — saved as revision " + a.revision + ".", "ok");
        return api("GET", "/api/articles/" + encodeURIComponent(articleId)).then(fill).then(loadHistory);
      }).catch(function (err) {
        say(err.message, "error");
      }).then(function () { setBusy(false); if (revision !== null) showState({ status: statusEl.textContent, revision: revision }); });
    }

    // --- try it
    var trySeq = 0;
    function runTry() {
      var q = tryInput.value.trim();
      if (!q) { tryInput.focus(); return; }
      var mine = ++trySeq;
      tryResult.textContent = "Asking…";
      api("POST", "/api/try", { question: q }).then(function (r) {
        if (mine !== trySeq) return;
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

    if (articleId) {
      setBusy(true);
      load().then(function () { setBusy(false); showState({ status: statusEl.textContent, revision: revision }); });
    } else {
      historyEmpty.hidden = false;
      f.id.focus();
    }
  }

  // ---------------------------------------------------------------- gaps page
  var REASONS = { declined: "declined", low_confidence: "low confidence", unhelpful: "marked unhelpful" };

  function initGaps() {
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
          ? topics.length + (topics.length === 1 ? " topic" : " topics") + " from " + data.questions + " unanswered questions in the last " + data.days + " days."
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

  var page = root.getAttribute("data-page");
  if (page === "list") initList();
  else if (page === "article") initArticle();
  else if (page === "gaps") initGaps();
})();
