"""Knowledge gaps: what customers asked that the articles could not answer, grouped.

Sources, over a period: questions the bot declined, conversations handed off for low
confidence, and answers marked 👎. Questions are grouped by word overlap (the language's
own analyser, so Japanese groups as well as English) into topics with counts, languages
and examples, newest first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from retrieval.analysis import READING_PREFIX, get_analyzer


@dataclass(frozen=True)
class GapQuestion:
    text: str
    lang: str
    reason: str  # "declined", "low_confidence", "unhelpful"
    at: datetime


@dataclass
class Topic:
    questions: list[GapQuestion] = field(default_factory=list)
    terms: Counter[str] = field(default_factory=Counter)

    @property
    def latest(self) -> datetime:
        return max(q.at for q in self.questions)

    def as_dict(self, examples: int = 5) -> dict[str, object]:
        ordered = sorted(self.questions, key=lambda q: q.at, reverse=True)
        return {
            "label": " / ".join(t for t, _ in self.terms.most_common(3)) or ordered[0].text[:40],
            "count": len(self.questions),
            "languages": dict(Counter(q.lang for q in self.questions)),
            "reasons": dict(Counter(q.reason for q in self.questions)),
            "latest": ordered[0].at.isoformat(),
            "examples": [q.text for q in ordered[:examples]],
        }


def _terms(question: GapQuestion) -> set[str]:
    return {
        t
        for t in get_analyzer(question.lang).analyze(question.text)
        if not t.startswith(READING_PREFIX)
    }


def group(questions: list[GapQuestion], threshold: float = 0.25) -> list[Topic]:
    """Greedy grouping: a question joins the topic whose terms it overlaps most (Jaccard
    with the topic's frequent terms) when the overlap reaches `threshold`."""
    topics: list[Topic] = []
    for question in sorted(questions, key=lambda q: q.at):
        terms = _terms(question)
        best, best_score = None, 0.0
        for topic in topics:
            if topic.questions[0].lang != question.lang:
                continue
            core = {t for t, n in topic.terms.items() if n * 2 >= len(topic.questions)} or set(
                topic.terms
            )
            union = terms | core
            score = len(terms & core) / len(union) if union else 0.0
            if score > best_score:
                best, best_score = topic, score
        if best is None or best_score < threshold:
            best = Topic()
            topics.append(best)
        best.questions.append(question)
        best.terms.update(terms)
    return sorted(topics, key=lambda t: (t.latest, len(t.questions)), reverse=True)
