// Labels and small facts the console shows: times, states, reasons, who owns what.

import { S, t, lang } from "./state.js";

const pad2 = (n) => (n < 10 ? "0" : "") + n;

export function mmss(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  return `${pad2(Math.floor(s / 60))}:${pad2(s % 60)}`;
}

export function humanize(key) {
  const s = String(key).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function reasonLabel(reason) {
  if (!reason) return "";
  return t.reasons[reason] || humanize(reason);
}

export function stateLabel(state) {
  if (!state) return "";
  return t.states[state] || humanize(state);
}

export function langLabel(code) {
  if (!code) return "—";
  return t.langNames[code] || String(code).toUpperCase();
}

// "2026-11-22T11:40:02.123456+00:00" -> ms; browsers need at most 3 fraction digits.
export function parseTime(iso) {
  if (typeof iso !== "string") return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
}

export function formatTime(iso) {
  const ms = parseTime(iso);
  if (isNaN(ms)) return "";
  try {
    return new Date(ms).toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB", {
      hour: "2-digit",
      minute: "2-digit",
    });
  } catch (err) {
    return "";
  }
}

export function agentName(agent) {
  if (agent === null || agent === undefined || agent === "") return null;
  if (typeof agent === "object") {
    return agent.display_name || agent.username || (agent.id !== undefined ? String(agent.id) : null);
  }
  if (typeof agent === "number") {
    const known = (S.queue.agents || []).find((a) => a.id === agent);
    return known ? known.display_name : String(agent);
  }
  return String(agent);
}

export function agentIsMe(agent) {
  if (agent === null || agent === undefined || agent === "") return false;
  if (typeof agent === "object") {
    if (agent.id !== undefined && S.me.id !== null) return String(agent.id) === String(S.me.id);
    return !!S.me.name && agent.display_name === S.me.name;
  }
  if (typeof agent === "number") return S.me.id !== null && String(agent) === String(S.me.id);
  return !!S.me.name && String(agent) === S.me.name;
}

export function isMine(conv) {
  if (!conv) return false;
  if (conv.agentId !== undefined && conv.agentId !== null && S.me.id !== null) {
    return String(conv.agentId) === String(S.me.id);
  }
  if (conv.agent !== null && conv.agent !== undefined && conv.agent !== "") return agentIsMe(conv.agent);
  return S.claimed.has(conv.id) || S.queue.mine.some((m) => m.conversation_id === conv.id);
}

export function canReply() {
  const c = S.conv;
  return !!c && c.loaded && c.state === "agent" && isMine(c);
}
