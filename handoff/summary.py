"""A short, extractive summary of a conversation for the agent who takes it over.

No language model: it leads with what the customer needs now (their latest problem, not
their first question), says why a person is needed (with the words that showed the
frustration), then what the bot answered and from which articles, so the agent does not
have to ask the customer to repeat themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handoff.reasons import HandoffReason

REASONS: Mapping[str, str] = {
    HandoffReason.CUSTOMER_REQUEST: "the customer asked for a person",
    HandoffReason.FRUSTRATION: "the customer seemed frustrated",
    HandoffReason.LOW_CONFIDENCE: "the bot could not answer",
}
MAX_QUOTE = 160
MAX_TITLES = 3


@dataclass(frozen=True)
class Line:
    role: str
    text: str
    kind: str | None = None
    citations: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    helpful: bool | None = None
    confidence: float | None = None


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[: MAX_QUOTE - 1]}…”" if len(text) > MAX_QUOTE else f"“{text}”"


def _problems(lines: Sequence[Line]) -> list[int]:
    """Indexes of the customer's messages that state something to solve: more than a word,
    and not answered as small talk (a greeting, thanks)."""
    found: list[int] = []
    for i, line in enumerate(lines):
        if line.role != "customer" or len(line.text.strip()) <= 3:
            continue
        reply = next((later for later in lines[i + 1 :] if later.role == "bot"), None)
        if reply is not None and reply.kind == "smalltalk":
            continue
        found.append(i)
    return found


def _only_asks_for_a_person(line: Line, reply: Line | None) -> bool:
    """A short message the bot answered by handing off: "a human please", not a problem."""
    short = len(line.text.split()) <= 8 and len(line.text) <= 50
    return short and reply is not None and reply.kind == "handoff"


def needs_now(lines: Sequence[Line], reason: str | None = None) -> str | None:
    """What the customer needs now: their latest problem (a bare request for a person
    points back to the problem before it)."""
    problems = _problems(lines)
    if not problems:
        return None
    latest = problems[-1]
    if reason == HandoffReason.CUSTOMER_REQUEST and len(problems) > 1:
        reply = next((later for later in lines[latest + 1 :] if later.role == "bot"), None)
        if _only_asks_for_a_person(lines[latest], reply):
            latest = problems[-2]
    return lines[latest].text


def summarise(
    lines: Sequence[Line], reason: str | None, scores: Mapping[str, Any] | None
) -> list[str]:
    """Summary lines, most important first: what the customer needs now, why a person
    is needed, then what happened before."""
    scores = scores or {}
    summary: list[str] = []
    now = needs_now(lines, reason)
    if now is not None:
        summary.append(f"Needs now: {_quote(now)}")
    if reason:
        summary.append(_why(lines, reason, scores, now))
    asked = [lines[i].text for i in _problems(lines)]
    if asked and asked[0] != now:
        summary.append(f"First asked: {_quote(asked[0])}")
    answered = [line for line in lines if line.role == "bot" and line.kind == "answer"]
    titles: list[str] = []
    for line in reversed(answered):  # the latest first
        for citation in line.citations:
            title = str(citation.get("title"))
            if title not in titles:
                titles.append(title)
    if titles:
        more = f" and {len(titles) - MAX_TITLES} more" if len(titles) > MAX_TITLES else ""
        summary.append(f"Bot answered from: {', '.join(titles[:MAX_TITLES])}{more}")
    misses = sum(1 for line in lines if line.role == "bot" and line.kind == "decline")
    if misses:
        summary.append(f"Bot could not answer {misses} question{'s' if misses > 1 else ''}")
    unhelpful = sum(1 for line in lines if line.role == "bot" and line.helpful is False)
    if unhelpful:
        summary.append(
            f"Customer marked {unhelpful} answer{'s' if unhelpful > 1 else ''} as not helpful"
        )
    return summary


def _why(lines: Sequence[Line], reason: str, scores: Mapping[str, Any], now: str | None) -> str:
    why = f"Handed off because {REASONS.get(reason, reason)}"
    if scores.get("via") == "attachment":
        why = "Handed off because the customer sent a file for a person to look at"
    if reason == HandoffReason.FRUSTRATION:
        signals = scores.get("frustration_signals") or {}
        if signals:
            strongest = sorted(signals, key=lambda k: -float(signals[k]))[:3]
            why += f" (signals: {', '.join(s.replace('_', ' ') for s in strongest)})"
        said = [line.text for line in lines if line.role == "customer" and line.text.strip()]
        if said and said[-1] != now:  # the words that showed it, when not quoted above
            why += f": {_quote(said[-1])}"
    if "confidence" in scores and reason == HandoffReason.LOW_CONFIDENCE:
        why += f" (confidence {float(scores['confidence']):.2f})"
    return why
