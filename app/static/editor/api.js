// The editor pages' helpers: the page root, the JSON API with the session's CSRF token,
// the message line, formatting.

import { h } from "../shared/dom.js";

export var root = document.querySelector("main[data-page]"); // null: not an editor page
var CSRF = root ? root.getAttribute("data-csrf") || "" : "";

export function $(sel, scope) { return (scope || root).querySelector(sel); }

/** An element with attributes and, optionally, its text. */
export function el(tag, attrs, text) {
  return h(tag, Object.assign({}, attrs, text === undefined || text === null ? {} : { text: text }));
}

export function fmtTime(iso) {
  if (!iso) return "";
  var d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  return d.toLocaleString();
}
export function fmtNum(n, digits) {
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

export function api(method, url, body) {
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
export function say(text, kind) {
  var box = $("[data-role=message]");
  if (!box) return;
  box.textContent = text || "";
  box.className = "ed-message" + (kind ? " ed-message--" + kind : "");
  clearTimeout(msgTimer);
}

export function statusBadge(status) {
  return el("span", { "class": "kk-badge ed-status ed-status--" + (status || "unknown") }, status || "—");
}

export function debounce(fn, ms) {
  var t = null;
  return function () {
    var args = arguments;
    clearTimeout(t);
    t = setTimeout(function () { fn.apply(null, args); }, ms);
  };
}
