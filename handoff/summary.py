"""A short, extractive summary of a conversation for the agent who takes it over.

No language model: it quotes what the customer asked, lists what the bot answered and
from which articles, and says why the conversation was handed off, so the agent does not
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


def summarise(
    lines: Sequence[Line], reason: str | None, scores: Mapping[str, Any] | None
) -> list[str]:
    """Summary lines, most important first."""
    scores = scores or {}
    summary: list[str] = []
    asked = [line.text for line in lines if line.role == "customer" and len(line.text) > 3]
    if asked:
        summary.append(f"Customer wants: {_quote(asked[0])}")
        if len(asked) > 1 and asked[-1] != asked[0]:
            summary.append(f"Latest message: {_quote(asked[-1])}")
    answered = [line for line in lines if line.role == "bot" and line.kind == "answer"]
    titles: list[str] = []
    for line in answered:
        for citation in line.citations:
            title = str(citation.get("title"))
            if title not in titles:
                titles.append(title)
    if titles:
        summary.append(f"Bot answered from: {', '.join(titles)}")
    misses = sum(1 for line in lines if line.role == "bot" and line.kind == "decline")
    if misses:
        summary.append(f"Bot could not answer {misses} question{'s' if misses > 1 else ''}")
    unhelpful = sum(1 for line in lines if line.role == "bot" and line.helpful is False)
    if unhelpful:
        summary.append(
            f"Customer marked {unhelpful} answer{'s' if unhelpful > 1 else ''} as not helpful"
        )
    if reason:
        why = f"Handed off because {REASONS.get(reason, reason)}"
        signals = scores.get("frustration_signals") or {}
        if reason == HandoffReason.FRUSTRATION and signals:
            strongest = sorted(signals, key=lambda k: -float(signals[k]))[:3]
            why += f" (signals: {', '.join(s.replace('_', ' ') for s in strongest)})"
        if "confidence" in scores and reason == HandoffReason.LOW_CONFIDENCE:
            why += f" (confidence {float(scores['confidence']):.2f})"
        summary.append(why)
    return summary
