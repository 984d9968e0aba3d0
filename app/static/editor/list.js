// The article list: filters kept in the address, so a search can be bookmarked.

import { $, api, debounce, el, fmtTime, root, say, statusBadge } from "./api.js";

export function initList() {
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
