// A WebSocket that reconnects with back-off: 0.5 s, 1 s, 2 s … capped at 30 s, each ±20 %
// so that many clients don't retry in step. Frames are JSON events, handed to the handler
// named by their `type`; one bad frame or a handler that throws never takes the connection
// down, and events of types a page does not know (from a newer server) are ignored.

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;

export class ReconnectingSocket {
  /**
   * @param {string} url The ws:// or wss:// address.
   * @param {object} hooks
   *   onOpen(): the socket opened (say hello here).
   *   events: {type: handler(event)} for the current socket's events.
   *   onClose(closeEvent, wasWelcomed): the current socket closed; a reconnect follows.
   *   onChange(): connecting, waiting to reconnect or connected changed (redraw banners).
   *   warn(...args): where problems are logged.
   */
  constructor(url, hooks) {
    this.url = url;
    this.hooks = hooks;
    this.ws = null; // the current WebSocket (stale sockets are ignored by identity)
    this.connected = false; // true between the server's `welcome` and the socket closing
    this.everConnected = false;
    this.attempt = 0;
    this.reconnectTimer = null;
    window.addEventListener("online", () => {
      // The network is back: don't sit out the rest of a long back-off.
      if (!this.connected && this.reconnectTimer) this.reconnectNow();
    });
  }

  /** Open a socket unless one is open or opening. */
  connect() {
    if (this.ws) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.hooks.warn("cannot open", this.url, err);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws === this.ws && this.hooks.onOpen) this.hooks.onOpen();
    };
    ws.onmessage = (msg) => {
      if (ws !== this.ws) return; // a frame from a socket we have already given up on
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch (err) {
        this.hooks.warn("ignoring a frame that is not JSON");
        return;
      }
      const events = this.hooks.events;
      if (!data || typeof data !== "object" || !Object.prototype.hasOwnProperty.call(events, data.type)) return;
      try {
        events[data.type](data);
      } catch (err) {
        this.hooks.warn("error while handling", data && data.type, err); // one bad event never breaks the page
      }
    };
    ws.onerror = () => {}; // a close event always follows; handled there
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      const welcomed = this.connected;
      this.ws = null;
      this.connected = false;
      this.hooks.onClose(ev, welcomed);
      this.scheduleReconnect();
    };
    this.hooks.onChange();
  }

  /** The server said `welcome`: the connection is usable and the back-off starts over. */
  welcomed() {
    this.connected = true;
    this.everConnected = true;
    this.attempt = 0;
  }

  /** Send `payload` as JSON on an open socket; false when it could not go. */
  send(payload) {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(JSON.stringify(payload));
      return true;
    } catch (err) {
      this.hooks.warn("send failed", err);
      return false;
    }
  }

  scheduleReconnect() {
    if (this.reconnectTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, this.attempt));
    const delay = Math.min(BACKOFF_MAX_MS, base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
    this.hooks.onChange();
  }

  /** Drop the current socket on purpose and open a fresh one straight away. */
  reconnectNow() {
    const old = this.ws;
    this.ws = null;
    this.connected = false;
    if (old) {
      try {
        old.close(1000);
      } catch (err) {
        /* already closing */
      }
    }
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempt = 0;
    this.connect();
  }
}
