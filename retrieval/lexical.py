"""BM25 (bm25s) over the chunks of one language, with query-term coverage."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence

import bm25s
import numpy as np

from retrieval.analysis import READING_PREFIX, Analyzer, Tokens
from retrieval.chunking import Chunk

# bm25s sets its own logger to DEBUG when imported: every index built (each article saved,
# each server start) would log "Building index from tokens" lines at any log level
logging.getLogger("bm25s").setLevel(logging.WARNING)


class LexicalIndex:
    """A BM25 index of documents (chunks or whole articles) in one language.

    Documents are addressed by integer id. Changes mark the index stale; `build` makes
    the BM25 matrix again, in the order the caller gives (the retriever passes its row
    order, so scores come out aligned with its arrays and need no per-document lookup).
    A built index is only read, by any number of threads at once.
    """

    def __init__(self, analyzer: Analyzer, k1: float = 1.2, b: float = 0.75) -> None:
        self.analyzer = analyzer
        self.k1 = k1
        self.b = b
        self._tokens: dict[int, Tokens] = {}
        self._ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self._bm25: bm25s.BM25 | None = None
        self._df: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._tokens)

    def copy(self) -> LexicalIndex:
        """An independent copy; it builds its own BM25 index when asked to."""
        twin = LexicalIndex(self.analyzer, self.k1, self.b)
        twin._tokens = dict(self._tokens)  # token lists are never changed in place
        twin._df = self._df.copy()
        return twin

    def add(self, documents: list[tuple[int, str]]) -> None:
        """Add or replace documents given as (id, text)."""
        for doc_id, text in documents:
            old = self._tokens.get(doc_id)
            if old is not None:
                self._df.subtract(set(old))
            tokens = self._tokens[doc_id] = self.analyzer.analyze(text)
            self._df.update(set(tokens))
        self._bm25 = None

    def add_chunks(self, chunks: list[Chunk]) -> None:
        self.add([(c.id, c.search_text) for c in chunks])

    def remove(self, doc_ids: list[int]) -> None:
        for doc_id in doc_ids:
            old = self._tokens.pop(doc_id, None)
            if old is not None:
                self._df.subtract(set(old))
        self._bm25 = None

    @property
    def built(self) -> bool:
        return self._bm25 is not None or not self._tokens

    def build(self, order: Sequence[int] | np.ndarray | None = None) -> None:
        """Make the BM25 matrix, documents in `order` (every id, once; insertion order
        by default): `scores` then returns their scores in that order."""
        ids = list(self._tokens) if order is None else [int(i) for i in order]
        if len(ids) != len(self._tokens):
            raise ValueError(f"the order names {len(ids)} documents, the index has {len(self)}")
        self._ids = np.asarray(ids, dtype=np.int64)
        self._df = +self._df  # drop the zero counts removals left
        if not ids:
            self._bm25 = None
            return
        bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        bm25.index([self._tokens[i] or [""] for i in ids], show_progress=False)
        self._bm25 = bm25

    def _built(self) -> bm25s.BM25 | None:
        if self._bm25 is None and self._tokens:
            self.build()
        return self._bm25

    def ids(self) -> np.ndarray:
        """Every document's id, in no particular order."""
        return np.fromiter(self._tokens, dtype=np.int64, count=len(self._tokens))

    def has(self, doc_id: int) -> bool:
        """Whether the document is in the index."""
        return doc_id in self._tokens

    def contains(self, term: str) -> bool:
        """Whether any document has the term."""
        return self._df.get(term, 0) > 0

    def idf(self, term: str) -> float:
        """Lucene BM25 idf; a term no chunk contains gets the highest idf there is."""
        n = len(self._tokens)
        df = self._df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: Tokens) -> tuple[list[int], np.ndarray]:
        """BM25 scores of every document for the query, as (document ids, scores)."""
        bm25 = self._built()
        if bm25 is None:
            return [], np.zeros(0, dtype=np.float32)
        return self._ids.tolist(), self.score_array(query_tokens)

    def score_array(self, query_tokens: Tokens) -> np.ndarray:
        """BM25 scores of every document in build order: the sum of the query terms'
        postings (a term asked twice counts twice), added into one float32 array by one
        `np.add.at` over them all. bm25s adds term by term; `np.bincount` widens every
        posting to int64 and float64 first (a Japanese question over 50k passages has
        ~280k postings at p95: 1.2 ms by bincount, 0.6 ms by a sparse product, less here)."""
        bm25 = self._built()
        if bm25 is None:  # no documents (whatever the last build held)
            return np.zeros(0, dtype=np.float32)
        scores = np.zeros(len(self._ids), dtype=np.float32)
        vocab = bm25.vocab_dict
        known = [vocab[t] for t in query_tokens if t in vocab]
        if not known:
            return scores
        matrix = bm25.scores
        indptr, indices, data = matrix["indptr"], matrix["indices"], matrix["data"]
        spans = [(int(indptr[t]), int(indptr[t + 1])) for t in known]
        np.add.at(
            scores,
            np.concatenate([indices[a:b] for a, b in spans]),
            np.concatenate([data[a:b] for a, b in spans]),
        )
        return scores

    def coverage(self, query_tokens: Tokens, doc_id: int) -> float:
        """Share of the query's idf mass that the chunk contains, in [0, 1].

        Words the knowledge base has never seen count with the highest idf, so a question
        about something the articles do not mention ("is the linen shirt washable") covers
        little even when it shares common words with an article. Reading bigrams are fuzzy
        helpers for ranking and are left out.
        """
        words = {t for t in query_tokens if not t.startswith(READING_PREFIX)}
        if not words:
            words = set(query_tokens)
        if not words:
            return 0.0
        chunk_terms = set(self._tokens.get(doc_id, ()))
        total = sum(self.idf(t) for t in words)
        hit = sum(self.idf(t) for t in words if t in chunk_terms)
        return hit / total if total > 0 else 0.0
