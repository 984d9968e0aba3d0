"""What the bot needs from retrieval, as a protocol, and a fake of it for tests.

The bot depends on this, not on the concrete `retrieval.hybrid.HybridRetriever`, the way
langchain-core's components depend on `BaseRetriever` and ship fakes beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from retrieval.kb import Article
from retrieval.types import Passage, RetrievalResult, ScoredArticle


class Retriever(Protocol):
    def detect_language(self, text: str) -> str:
        """The message's language among those the knowledge base has."""
        ...

    def retrieve(self, query: str, *, lang: str | None = None, k: int = 5) -> RetrievalResult:
        """The `k` best articles for `query`, best first, with a confidence in [0, 1]."""
        ...

    def article(self, article_id: str) -> Article | None:
        """The indexed article with this id (what a customer chose among suggestions)."""
        ...

    def prefetch(self, query: str, *, lang: str | None = None) -> Future[Any] | None:
        """Start what `retrieve(query)` will need (its embedding) without waiting for it;
        the embedding on its way, or None when there is nothing to compute."""
        ...


@dataclass(frozen=True)
class FakeArticle:
    article_id: str
    title: str
    text: str
    lang: str = "en"
    url: str | None = None


class FakeRetriever:
    """For tests only: ranks articles by the share of the query's words they contain.

    Deterministic and instant; the confidence is the best article's share, so a test
    controls the bot's decision by the words it asks with.
    """

    def __init__(self, articles: Sequence[FakeArticle]) -> None:
        self.articles = list(articles)

    def article(self, article_id: str) -> Article | None:
        for a in self.articles:
            if a.article_id == article_id:
                return Article(a.article_id, a.title, a.lang, a.text, url=a.url)
        return None

    def prefetch(self, query: str, *, lang: str | None = None) -> Future[Any] | None:
        return None  # nothing to compute ahead

    def detect_language(self, text: str) -> str:
        return "ja" if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) else "en"

    def retrieve(self, query: str, *, lang: str | None = None, k: int = 5) -> RetrievalResult:
        lang = lang or self.detect_language(query)
        words = set(re.findall(r"\w+", query.lower()))
        scored = []
        for article in self.articles:
            if article.lang != lang:
                continue
            have = set(re.findall(r"\w+", f"{article.title} {article.text}".lower()))
            share = len(words & have) / len(words) if words else 0.0
            passage = Passage(0, article.title, article.text, share)
            scored.append(
                ScoredArticle(
                    article.article_id,
                    article.title,
                    article.lang,
                    article.url,
                    share,
                    None,
                    share,
                    [passage],
                )
            )
        scored.sort(key=lambda a: (-a.score, a.article_id))
        top = scored[:k]
        confidence = top[0].score if top else 0.0
        return RetrievalResult(query, lang, "fake", top, confidence, 0.0)
