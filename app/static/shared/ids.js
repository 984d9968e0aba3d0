// Random ids (RFC 4122 version 4) for client_id: the server de-duplicates resends by it.

export function uuid() {
  const c = window.crypto;
  // randomUUID exists only in secure contexts (https or localhost) of recent browsers, and
  // the widget also runs on plain-http shops.
  if (c && typeof c.randomUUID === "function") {
    try {
      return c.randomUUID();
    } catch (err) {
      /* fall through */
    }
  }
  const bytes = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
