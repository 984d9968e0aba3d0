"""What the retriever returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """One section of an article that matched the question."""

    chunk_id: int
    heading: str
    text: str
    score: float


@dataclass(frozen=True)
class ScoredArticle:
    """An article with its fused score and best passages."""

    article_id: str
    title: str
    lang: str
    url: str | None
    score: float
    dense_score: float | None
    lexical_score: float | None
    passages: list[Passage]


@dataclass(frozen=True)
class RetrievalResult:
    """Ranked articles for one question, with the confidence that the first one answers it."""

    query: str
    lang: str
    mode: str
    articles: list[ScoredArticle]
    confidence: float
    latency_ms: float
    signals: dict[str, float] = field(default_factory=dict)

    @property
    def top(self) -> ScoredArticle | None:
        return self.articles[0] if self.articles else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SyncReport:
    """What an index sync changed."""

    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int

    @property
    def embedded(self) -> int:
        return len(self.added) + len(self.updated)
