"""The hybrid retriever's parts: its settings, the raw evidence of a query, the indexes
of one language, and the small array helpers its search uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from retrieval.analysis import get_analyzer
from retrieval.chunking import chunk_id
from retrieval.dense import DenseIndex
from retrieval.fusion import Calibration
from retrieval.lexical import LexicalIndex


@dataclass(frozen=True)
class RetrievalConfig:
    """Tuning of the hybrid retriever (`app.settings.Settings` documents the knobs)."""

    embedding_languages: tuple[str, ...] = ("en",)
    other_dense_weight: float = 0.0
    covered_dense_weight: float = 2.0
    title_weight: float = 0.3
    chunk_max_chars: int = 1200
    passages_per_article: int = 2
    calibration: Calibration = field(default_factory=Calibration)
    # the multilingual sentence encoder as a confidence signal (calibration.encoder_weight)
    encoder_confidence: bool = True


@dataclass(frozen=True)
class ArticleEvidence:
    """Raw retrieval signals for one query: arrays over `article_ids` (or over chunks)."""

    lang: str
    article_ids: list[str]
    tokens: list[str]
    chunk_ids: list[int]
    owner: np.ndarray  # chunk row -> article row
    chunk_lexical: np.ndarray
    chunk_dense: np.ndarray
    article_lexical: np.ndarray  # BM25 of the whole article
    best_chunk_lexical: np.ndarray  # BM25 of its best section
    best_chunk_dense: np.ndarray  # cosine of its best section (empty without dense)
    title_dense: np.ndarray  # cosine of its title (empty without dense)
    lexical: np.ndarray  # the lexical score fusion uses
    dense: np.ndarray | None  # the dense score fusion uses (None without dense)
    fused: np.ndarray  # the fused score articles are ranked by
    query_words: int  # distinct words of the query (reading bigrams aside)
    unknown_words: int  # of which no article of the language contains


def article_key(article_id: str) -> int:
    """The integer id of an article's own entries (its title vector, its BM25 document)."""
    return chunk_id(article_id, -1)


class LanguageIndexes:
    """The four indexes of one language."""

    def __init__(self, lang: str, dimensions: int) -> None:
        analyzer = get_analyzer(lang)
        self.chunk_vectors = DenseIndex(dimensions)
        self.title_vectors = DenseIndex(dimensions)
        self.chunk_terms = LexicalIndex(analyzer)
        self.article_terms = LexicalIndex(analyzer)
        self.articles: list[str] = []  # ids, in insertion order
        self.lang = lang


_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3041-\u30ff]")


def unreadable_for_encoder(query: str) -> bool:
    """Japanese the sentence encoder cannot read: kana without kanji (or a katakana
    word), or romaji (Latin text taken for Japanese)."""
    if _KANA.search(query):
        return not _KANJI.search(query) and not _KATAKANA_WORD.search(query)
    return not _KANJI.search(query)


_KATAKANA_WORD = re.compile(r"[\u30a1-\u30faー]{3,}")


def aligned(ids: list[int], scores: np.ndarray, order: list[int]) -> np.ndarray:
    """Scores re-ordered to `order` (ids missing from the result score the minimum)."""
    lookup = dict(zip(ids, scores.tolist(), strict=True))
    floor = float(scores.min()) if scores.size else 0.0
    return np.asarray([lookup.get(i, floor) for i in order], dtype=np.float32)


def best_per_article(chunk_scores: np.ndarray, owner: np.ndarray, n_articles: int) -> np.ndarray:
    """The best chunk score of each article (`owner` maps chunk rows to article rows)."""
    best = np.full(n_articles, -np.inf, dtype=np.float32)
    np.maximum.at(best, owner, chunk_scores)
    return best
