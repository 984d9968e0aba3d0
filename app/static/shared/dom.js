// Small DOM helpers shared by the agent console, the editor and the widget.

/**
 * A new element. `attrs`: "class", "text" (textContent), "onEVENT" functions (listeners);
 * other keys become attributes (true: present and empty; null, undefined, false: left out).
 * `children`: nodes or strings (text); null, undefined and false are skipped.
 */
export function h(tag, attrs, children) {
  const node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach((key) => {
      const value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.indexOf("on") === 0 && typeof value === "function") {
        node.addEventListener(key.slice(2), value);
      } else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    });
  }
  (children || []).forEach((child) => {
    if (child === null || child === undefined || child === false) return;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

/** Remove every child of `node`. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** A console.warn that names its source: logger("[kakehashi]")("send failed", err). */
export function logger(prefix) {
  return (...args) => {
    if (window.console && console.warn) console.warn(prefix, ...args);
  };
}

/** The server counts characters as code points, not UTF-16 units (an emoji counts as one). */
export const charCount = (text) => Array.from(text).length;
