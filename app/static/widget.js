/*
 * Kakehashi chat widget — embed with one tag:
 *
 *   <script src="https://HOST/widget.js" data-lang="ja" async></script>
 *
 * Optional attributes: data-lang (en|ja), data-position (right|left), data-title.
 *
 * This classic script is only the loader: it reads its own tag, sets up window.Kakehashi
 * and imports the widget's ES modules (/static/widget/main.js and what it imports) from the
 * origin it was loaded from. They are served with Access-Control-Allow-Origin, so the
 * import works from a shop on any origin.
 */
(function () {
  "use strict";

  if (window.Kakehashi && window.Kakehashi.__loaded) return; // embedded twice: keep the first

  function findScript() {
    if (document.currentScript) return document.currentScript;
    // currentScript is null when we run from a callback or were injected oddly.
    const all = document.querySelectorAll('script[src*="widget.js"]');
    return all.length ? all[all.length - 1] : null;
  }

  const script = findScript();
  const attr = (name) => (script && script.getAttribute(name)) || "";
  const scriptUrl = new URL((script && script.src) || "/widget.js", location.href);
  const config = {
    scriptUrl: scriptUrl.href,
    lang: attr("data-lang"),
    position: attr("data-position"),
    title: attr("data-title"),
  };

  // The page may call Kakehashi.open() before the modules have arrived.
  const early = { open: false };
  const api = {
    __loaded: true,
    open: () => { early.open = true; },
    close: () => {},
    state: () => ({ connected: false, conversationState: null, conversationId: null, lastSeq: 0, token: null }),
  };
  window.Kakehashi = api;

  import(new URL("/static/widget/main.js", scriptUrl).href)
    .then((widget) => widget.start(config, api, early))
    .catch((err) => {
      if (window.console && console.warn) console.warn("[kakehashi] could not load the widget", err);
    });
})();
