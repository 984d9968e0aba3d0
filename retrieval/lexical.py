"""BM25 (bm25s) over the chunks of one language, with query-term coverage."""

from __future__ import annotations

import math
from collections import Counter

import bm25s
import numpy as np

from retrieval.analysis import READING_PREFIX, Analyzer, Tokens
from retrieval.chunking import Chunk


class LexicalIndex:
    """A BM25 index of documents (chunks or whole articles) in one language.

    Documents are addressed by integer id. Rebuilding is cheap (milliseconds for a help
    centre), so an update only marks the index stale and the next search rebuilds it.
    """

    def __init__(self, analyzer: Analyzer, k1: float = 1.2, b: float = 0.75) -> None:
        self.analyzer = analyzer
        self.k1 = k1
        self.b = b
        self._tokens: dict[int, Tokens] = {}
        self._ids: list[int] = []
        self._bm25: bm25s.BM25 | None = None
        self._df: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._tokens)

    def copy(self) -> LexicalIndex:
        """An independent copy; it builds its own BM25 index at its first search."""
        twin = LexicalIndex(self.analyzer, self.k1, self.b)
        twin._tokens = dict(self._tokens)
        return twin

    def add(self, documents: list[tuple[int, str]]) -> None:
        """Add or replace documents given as (id, text)."""
        for doc_id, text in documents:
            self._tokens[doc_id] = self.analyzer.analyze(text)
        self._bm25 = None

    def add_chunks(self, chunks: list[Chunk]) -> None:
        self.add([(c.id, c.search_text) for c in chunks])

    def remove(self, doc_ids: list[int]) -> None:
        for doc_id in doc_ids:
            self._tokens.pop(doc_id, None)
        self._bm25 = None

    def _build(self) -> bm25s.BM25 | None:
        if self._bm25 is None and self._tokens:
            self._ids = list(self._tokens)
            corpus = [self._tokens[i] or [""] for i in self._ids]
            bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            bm25.index(corpus, show_progress=False)
            self._bm25 = bm25
            self._df = Counter(t for tokens in corpus for t in set(tokens))
        return self._bm25

    def contains(self, term: str) -> bool:
        """Whether any document has the term."""
        self._build()
        return self._df.get(term, 0) > 0

    def idf(self, term: str) -> float:
        """Lucene BM25 idf; a term no chunk contains gets the highest idf there is."""
        n = len(self._tokens)
        df = self._df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: Tokens) -> tuple[list[int], np.ndarray]:
        """BM25 scores of every document for the query, as (document ids, scores)."""
        bm25 = self._build()
        if bm25 is None:
            return [], np.zeros(0, dtype=np.float32)
        known = bm25.get_tokens_ids(query_tokens)
        if not known:
            return self._ids, np.zeros(len(self._ids), dtype=np.float32)
        return self._ids, np.asarray(bm25.get_scores_from_ids(known), dtype=np.float32)

    def coverage(self, query_tokens: Tokens, doc_id: int) -> float:
        """Share of the query's idf mass that the chunk contains, in [0, 1].

        Words the knowledge base has never seen count with the highest idf, so a question
        about something the articles do not mention ("is the linen shirt washable") covers
        little even when it shares common words with an article. Reading bigrams are fuzzy
        helpers for ranking and are left out.
        """
        self._build()
        words = {t for t in query_tokens if not t.startswith(READING_PREFIX)}
        if not words:
            words = set(query_tokens)
        if not words:
            return 0.0
        chunk_terms = set(self._tokens.get(doc_id, ()))
        total = sum(self.idf(t) for t in words)
        hit = sum(self.idf(t) for t in words if t in chunk_terms)
        return hit / total if total > 0 else 0.0
