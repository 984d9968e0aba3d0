// Canned responses page: saves through the JSON API with the session's CSRF token.
(function () {
  "use strict";
  var root = document.querySelector(".kk-canned");
  if (!root) return;
  var csrf = root.getAttribute("data-csrf");
  var form = root.querySelector("form");
  var status = root.querySelector(".kk-canned-status");

  function call(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      if (response.ok) return response;
      return response.json().then(function (data) {
        throw new Error((data.error && data.error.message) || (data.detail && JSON.stringify(data.detail)) || response.statusText);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var id = form.elements.id.value;
    var body = { title: form.elements.title.value, text: form.elements.text.value, lang: form.elements.lang.value };
    call(id ? "PUT" : "POST", id ? "/api/canned/" + id : "/api/canned", body)
      .then(function () { window.location.reload(); })
      .catch(function (error) { status.textContent = "Not saved: " + error.message; });
  });
  form.addEventListener("reset", function () { form.elements.id.value = ""; status.textContent = ""; });

  // "#new" (the console's and this page's "create" links): start writing one
  function focusNew() { if (location.hash === "#new") form.elements.title.focus(); }
  window.addEventListener("hashchange", focusNew);
  focusNew();

  root.querySelector(".kk-canned-list").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var item = button.closest("li");
    var id = item.getAttribute("data-id");
    if (button.getAttribute("data-action") === "edit") {
      form.elements.id.value = id;
      form.elements.title.value = item.getAttribute("data-title");
      form.elements.lang.value = item.getAttribute("data-lang");
      form.elements.text.value = item.querySelector(".kk-canned-text").textContent;
      form.elements.title.focus();
    } else if (window.confirm("Delete this canned response?")) {
      call("DELETE", "/api/canned/" + id)
        .then(function () { item.remove(); })
        .catch(function (error) { status.textContent = "Not deleted: " + error.message; });
    }
  });
})();
