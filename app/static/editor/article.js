// The article page: the form, save / publish / archive, the preview, the revision history
// with diffs and revert.

import { $, api, debounce, el, fmtTime, root, say, statusBadge } from "./api.js";
import { initTry } from "./try.js";

export function initArticle() {
  var form = $("[data-role=form]");
  var f = {
    id: $("[data-testid=field-id]"),
    title: $("[data-testid=field-title]"),
    lang: $("[data-testid=field-lang]"),
    tags: $("[data-testid=field-tags]"),
    url: $("[data-testid=field-url]"),
    body: $("[data-testid=field-body]"),
    questions: $("[data-testid=field-questions]"),
    note: $("[data-testid=field-note]")
  };
  var btnSave = $("[data-testid=save]");
  var btnPublish = $("[data-testid=publish]");
  var btnArchive = $("[data-testid=archive]");
  var statusEl = $("[data-testid=status]");
  var revEl = $("[data-testid=revision]");
  var stagedEl = $("[data-testid=staged]");
  var preview = $("[data-role=preview]");
  var historyList = $("[data-role=history]");
  var historyEmpty = $("[data-role=history-empty]");
  var diffWrap = $("[data-role=diff-wrap]");
  var diffTitle = $("[data-role=diff-title]");
  var diffPre = $("[data-role=diff]");

  var articleId = root.getAttribute("data-article-id") || null;
  var revision = null;
  var liveRevision = null; // the revision the bot answers from (null: not published)
  var status = null;
  var busy = false;
  var dirty = false;
  var tryIt = initTry(function () {
    return { id: articleId, revision: revision, staged: hasDraft() };
  });

  /** A saved revision the bot does not use yet (a new draft, or a change to a live article). */
  function hasDraft() {
    return !!articleId && revision !== null && status !== "archived" && liveRevision !== revision;
  }

  function setBusy(on) {
    busy = on;
    btnSave.disabled = on;
    btnPublish.disabled = on || !articleId || (status === "published" && !hasDraft());
    btnArchive.disabled = on || !articleId;
    if (on) root.setAttribute("aria-busy", "true"); else root.removeAttribute("aria-busy");
  }

  function showState(a) {
    status = a.status || null;
    statusEl.textContent = a.status || "—";
    statusEl.className = "kk-badge ed-status ed-status--" + (a.status || "unknown");
    revEl.textContent = a.revision === null || a.revision === undefined ? "—" : String(a.revision);
    revision = a.revision;
    if (a.live_revision !== undefined) liveRevision = a.live_revision;
    var staged = status === "published" && hasDraft();
    stagedEl.hidden = !staged;
    stagedEl.textContent = staged
      ? "Revision " + revision + " is a draft. The bot answers from revision " + liveRevision + " until you publish."
      : "";
    btnPublish.textContent = staged ? "Publish revision " + revision : "Publish";
    btnPublish.disabled = busy || !articleId || (status === "published" && !staged);
    btnArchive.disabled = busy || !articleId || a.status === "archived";
    tryIt.refresh();
  }

  function savedMessage(a) {
    var text = "Saved revision " + a.revision + " as a draft";
    if (a.status === "published" && a.live_revision !== a.revision) {
      return text + "; publish to make it live (the bot still answers from revision " + a.live_revision + ").";
    }
    if (a.status === "published") return "Saved revision " + a.revision + ".";
    return text + "; publish to make it live.";
  }

  function fill(a) {
    f.id.value = a.id;
    f.title.value = a.title || "";
    setLang(a.lang || "en");
    f.tags.value = (a.tags || []).join(", ");
    f.url.value = a.url || "";
    f.body.value = a.body || "";
    f.questions.value = (a.questions || []).join("\n");
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
      questions: f.questions.value.split("\n").map(function (q) { return q.trim(); }).filter(Boolean),
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
      say(savedMessage(a), "ok");
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
          say("Published revision " + a.revision + " — the bot answers from it now.", "ok");
          loadHistory();
          tryIt.askAgain();
        } else {
          say("Archived — the bot no longer uses it.", "ok");
          loadHistory();
        }
      }).catch(function (err) {
        say(err.message, "error");
      }).then(function () { setBusy(false); showState({ status: status, revision: revision }); });
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
        if (r.number === liveRevision) {
          li.setAttribute("data-live", "true");
          head.appendChild(el("span", { "class": "kk-badge ed-live", "data-testid": "live-badge", title: "The bot answers from this revision" }, "live"));
        }
        if (r.number === revision && r.number !== liveRevision) head.appendChild(el("span", { "class": "kk-badge ed-current" }, "latest"));
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
      say("Reverted to revision " + number + " — " + savedMessage(a).charAt(0).toLowerCase() + savedMessage(a).slice(1), "ok");
      return api("GET", "/api/articles/" + encodeURIComponent(articleId)).then(fill).then(loadHistory);
    }).catch(function (err) {
      say(err.message, "error");
    }).then(function () { setBusy(false); if (revision !== null) showState({ status: status, revision: revision }); });
  }

  if (articleId) {
    setBusy(true);
    load().then(function () { setBusy(false); showState({ status: status, revision: revision }); });
  } else {
    historyEmpty.hidden = false;
    f.id.focus();
  }
}
