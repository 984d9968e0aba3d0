"""The hybrid retriever's parts: its settings, the raw evidence of a query, the indexes
of one language, and the small array helpers its search uses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.analysis import Tokens, get_analyzer
from retrieval.chunking import Chunk, chunk_id
from retrieval.dense import DenseIndex, ivf_lists
from retrieval.fusion import ENCODER_RANK_WEIGHTS, Calibration
from retrieval.lexical import LexicalIndex

#: An approximate language's titles are searched approximately too past this share of the
#: threshold (below it an exact search of them costs less than the clustering saves).
TITLES_PER_THRESHOLD = 8


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
    # and, per language, a ranking signal beside BM25 (Japanese: the embedding model reads
    # only English); False leaves the encoder out altogether
    encoder_confidence: bool = True
    encoder_rank_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(ENCODER_RANK_WEIGHTS), hash=False
    )
    # Scale: past this many chunks in one language its dense index becomes approximate
    # (faiss IVF) and a query scores the `candidates` nearest chunks and titles exactly
    # instead of every chunk of the language.
    approximate_above: int = 20_000
    nprobe: int = 32
    candidates: int = 100
    dense_sample: int = 256  # articles whose dense scores estimate the spread
    # Query vectors: recent questions kept (0: none), and how long and how many
    # concurrent questions the batcher gathers into one model call.
    query_cache_size: int = 1024
    batch_window_ms: float = 2.0
    max_batch: int = 32


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
    # the sentence encoder's cosine of each article's best section (None: not used here)
    encoder: np.ndarray | None
    fused: np.ndarray  # the fused score articles are ranked by
    query_words: int  # distinct words of the query (reading bigrams aside)
    unknown_words: int  # of which no article of the language contains
    # the indexes these arrays came from (a later re-index leaves them as they were)
    index: LanguageIndexes | None = field(default=None, repr=False, compare=False)

    def chunk_rows(self, row: int) -> range:
        """The chunk rows of article `row` (they are contiguous)."""
        if self.index is not None and self.index.arrays is not None:
            starts = self.index.arrays.starts
            return range(int(starts[row]), int(starts[row + 1]))
        return range(0) if not self.owner.size else _rows_of(self.owner, row)


def _rows_of(owner: np.ndarray, row: int) -> range:
    hits = np.flatnonzero(owner == row)
    return range(int(hits[0]), int(hits[-1]) + 1) if hits.size else range(0)


def article_key(article_id: str) -> int:
    """The integer id of an article's own entries (its title vector, its BM25 document)."""
    return chunk_id(article_id, -1)


@dataclass(frozen=True)
class SearchArrays:
    """What a search of one language reads, in row order: articles in insertion order,
    each article's chunks contiguous. Built when the indexes are published, never changed."""

    article_ids: list[str]
    keys: np.ndarray  # article row -> its key (`article_key`)
    chunk_ids: list[int]
    chunk_id_array: np.ndarray  # the same as an array
    starts: np.ndarray  # article row -> its first chunk row; one past the end last
    owner: np.ndarray  # chunk row -> article row
    chunk_positions: np.ndarray | None  # chunk row -> row of the flat matrix (-1: no vector)
    title_positions: np.ndarray | None  # article row -> row of the title matrix
    # chunk row -> row of the sentence encoder's matrix (None: no encoder vectors)
    encoded_positions: np.ndarray | None
    chunk_rows_by_id: tuple[np.ndarray, np.ndarray]  # sorted chunk ids, their rows
    article_rows_by_key: tuple[np.ndarray, np.ndarray]  # sorted article keys, their rows
    sample: DenseSample | None  # approximate mode: what estimates the dense spread
    groups: RowGroups  # the chunk rows of every article, for `best`
    # chunk row -> whether it is a section (not one of the article's questions); None when
    # every chunk is a section
    sections: np.ndarray | None = None

    def best(self, chunk_scores: np.ndarray) -> np.ndarray:
        """The best of each article's chunk scores (-inf for an article with none)."""
        return self.groups.best(chunk_scores)


@dataclass(frozen=True)
class DenseSample:
    """The vectors of a fixed random sample of articles (approximate mode): their dense
    scores estimate the mean and spread of every article's, for the z-scores fusion uses."""

    chunk_vectors: np.ndarray
    starts: np.ndarray  # sample article -> its first row in chunk_vectors
    title_vectors: np.ndarray
    # the sentence encoder's vectors of the same chunks (None: no encoder vectors)
    encoded_vectors: np.ndarray | None = None


def rows_of(ids: np.ndarray, lookup: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Rows of `ids` (-1 for ids not in the lookup), vectorised."""
    keys, rows = lookup
    if not keys.size or not ids.size:
        return np.full(ids.shape, -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, ids), keys.size - 1)
    return np.where(keys[at] == ids, rows[at], -1)


def _lookup(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(ids, kind="stable")
    return ids[order], order.astype(np.int64)


class LanguageIndexes:
    """The four indexes of one language.

    Changed only by the writer, on a copy (`thaw`); published with `freeze`, after which
    searches read it from any number of threads and nothing changes it.
    """

    def __init__(self, lang: str, dimensions: int, encoder_dimensions: int | None = None) -> None:
        analyzer = get_analyzer(lang)
        self.chunk_vectors = DenseIndex(dimensions)
        self.title_vectors = DenseIndex(dimensions)
        # the sentence encoder's vectors of the chunks (the answer confidence reads them)
        self.encoded = DenseIndex(encoder_dimensions) if encoder_dimensions else None
        self.chunk_terms = LexicalIndex(analyzer)  # the sections
        # the articles' customer questions, in an index of their own: among the sections,
        # hundreds of one-line documents would shift BM25's average length and idf, and
        # change which section answers ("パスワードを忘れました" got the password rules)
        self.question_terms = LexicalIndex(analyzer)
        self.article_terms = LexicalIndex(analyzer)
        self._articles: dict[str, tuple[int, ...]] = {}  # id -> chunk ids, insertion order
        self.lang = lang
        self.arrays: SearchArrays | None = None

    @property
    def articles(self) -> list[str]:
        """Article ids in row order."""
        if self.arrays is not None:
            return self.arrays.article_ids
        return list(self._articles)

    @property
    def approximate(self) -> bool:
        return self.chunk_vectors.kind == "ivf"

    def dense(self, kind: str) -> DenseIndex:
        """The dense index of a kind: "chunks", "titles" or "encoded"."""
        index = {"chunks": self.chunk_vectors, "titles": self.title_vectors}.get(kind)
        if index is None and kind == "encoded":
            index = self.encoded
        if index is None:
            raise KeyError(f"no {kind!r} vectors in the {self.lang} indexes")
        return index

    def has(self, article_id: str) -> bool:
        return article_id in self._articles

    def place(self, article_id: str, chunk_ids: Sequence[int]) -> None:
        """Give an article its rows (at the end; an article placed again moves there)."""
        self._articles.pop(article_id, None)
        self._articles[article_id] = tuple(chunk_ids)
        self.arrays = None

    def unplace(self, article_id: str) -> None:
        self._articles.pop(article_id, None)
        self.arrays = None

    def add_terms(self, chunks: Sequence[Chunk]) -> None:
        """Index the chunks' words: sections and questions each in their own index."""
        self.chunk_terms.add_chunks([c for c in chunks if not c.question])
        self.question_terms.add_chunks([c for c in chunks if c.question])

    def remove_terms(self, chunk_ids: list[int]) -> None:
        self.chunk_terms.remove(chunk_ids)
        self.question_terms.remove(chunk_ids)

    def chunk_lexical(self, tokens: Tokens) -> np.ndarray:
        """BM25 of every chunk row (published indexes): sections scored among sections,
        questions among questions."""
        assert self.arrays is not None, "search a published (frozen) index"
        sections = self.arrays.sections
        if sections is None:
            return self.chunk_terms.score_array(tokens)
        scores = np.zeros(sections.size, dtype=np.float32)
        scores[sections] = self.chunk_terms.score_array(tokens)
        scores[~sections] = self.question_terms.score_array(tokens)
        return scores

    def coverage(self, tokens: Tokens, chunk_id: int) -> float:
        """The share of the query's idf mass the chunk holds, in its own index's terms."""
        terms = self.question_terms if self.question_terms.has(chunk_id) else self.chunk_terms
        return terms.coverage(tokens, chunk_id)

    def thaw(self) -> LanguageIndexes:
        """A copy to change (the dense and lexical indexes are copied, not shared)."""
        twin = LanguageIndexes.__new__(LanguageIndexes)
        twin.lang = self.lang
        twin.chunk_vectors = self.chunk_vectors.copy()
        twin.title_vectors = self.title_vectors.copy()
        twin.encoded = self.encoded.copy() if self.encoded is not None else None
        twin.chunk_terms = self.chunk_terms.copy()
        twin.question_terms = self.question_terms.copy()
        twin.article_terms = self.article_terms.copy()
        twin._articles = dict(self._articles)
        twin.arrays = None
        return twin

    def freeze(self, config: RetrievalConfig, seed: int = 0) -> None:
        """Choose the dense index kind for the size, build BM25 and the row-order arrays."""
        # The size of the language decides for both indexes: past the threshold its titles
        # (one per article, a few times fewer than the chunks) are searched approximately
        # too, or their exact search would be the one part of a query growing with the
        # knowledge base (1.2 ms for 12k titles against 0.4 ms for 50k chunks in an IVF).
        chunks = len(self.chunk_vectors)
        approximate = chunks > config.approximate_above or (
            self.approximate and chunks >= config.approximate_above // 2
        )
        for dense, least in (
            (self.chunk_vectors, 0),
            (self.title_vectors, config.approximate_above // TITLES_PER_THRESHOLD),
        ):
            dense.nprobe = config.nprobe
            if approximate and len(dense) > least and len(dense) >= ivf_lists(len(dense)):
                dense.to_ivf()
            elif dense.kind == "ivf" and not approximate:
                dense.to_flat()
        ids = list(self._articles)
        sizes = np.fromiter((len(c) for c in self._articles.values()), np.int64, len(ids))
        chunk_ids = [c for chunks in self._articles.values() for c in chunks]
        chunk_array = np.asarray(chunk_ids, dtype=np.int64)
        keys = np.asarray([article_key(a) for a in ids], dtype=np.int64)
        starts = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        sections = None  # which rows are sections: the ones the question index lacks
        if len(self.question_terms):
            sections = ~np.isin(chunk_array, self.question_terms.ids())
            self.chunk_terms.build(chunk_array[sections])
            self.question_terms.build(chunk_array[~sections])
        else:
            self.chunk_terms.build(chunk_array)
            self.question_terms.build([])
        self.article_terms.build(keys)
        by_id = _lookup(chunk_array)
        by_key = _lookup(keys)
        chunk_positions = title_positions = None
        sample = None
        if self.chunk_vectors.kind == "flat":
            chunk_positions = rows_of(chunk_array, _lookup(self.chunk_vectors.ids()))
        if self.title_vectors.kind == "flat":
            title_positions = rows_of(keys, _lookup(self.title_vectors.ids()))
        encoded_positions = None
        if self.encoded is not None and self.encoded.kind == "flat" and len(self.encoded):
            encoded_positions = rows_of(chunk_array, _lookup(self.encoded.ids()))
        if self.approximate and ids:
            sample = self._sample(ids, chunk_ids, starts, config.dense_sample, seed)
        self.arrays = SearchArrays(
            article_ids=ids,
            keys=keys,
            chunk_ids=chunk_ids,
            chunk_id_array=chunk_array,
            starts=starts,
            owner=np.repeat(np.arange(len(ids)), sizes),
            chunk_positions=chunk_positions,
            title_positions=title_positions,
            encoded_positions=encoded_positions,
            chunk_rows_by_id=by_id,
            article_rows_by_key=by_key,
            sample=sample,
            groups=RowGroups(starts),
            sections=sections,
        )

    def _sample(
        self, ids: list[str], chunk_ids: list[int], starts: np.ndarray, size: int, seed: int
    ) -> DenseSample:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(ids), min(len(ids), max(size, 2)), replace=False))
        have = set(self.chunk_vectors.ids().tolist()) if len(rows) else set()
        chunks = [
            [c for c in chunk_ids[starts[r] : starts[r + 1]] if c in have] for r in rows.tolist()
        ]
        rows = np.asarray([r for r, c in zip(rows.tolist(), chunks, strict=True) if c])
        chunks = [c for c in chunks if c]
        flat = np.asarray([c for cs in chunks for c in cs], dtype=np.int64)
        sample_starts = np.zeros(len(chunks) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in chunks], out=sample_starts[1:])
        titles = np.asarray([article_key(ids[r]) for r in rows.tolist()], dtype=np.int64)
        encoded = None
        if self.encoded is not None and len(self.encoded):
            try:
                encoded = self.encoded.vectors(flat)
            except RuntimeError:  # a chunk without an encoder vector: no spread from it
                encoded = None
        return DenseSample(
            chunk_vectors=self.chunk_vectors.vectors(flat),
            starts=sample_starts,
            title_vectors=self.title_vectors.vectors(titles),
            encoded_vectors=encoded,
        )


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


def best_per_row(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The best score of each group of contiguous rows (`starts`: group boundaries);
    -inf for a group with no rows."""
    n = starts.size - 1
    best = np.full(n, -np.inf, dtype=np.float32)
    if not scores.size or n == 0:
        return best
    nonempty = starts[1:] > starts[:-1]
    best[nonempty] = np.maximum.reduceat(scores, starts[:-1][nonempty])
    return best


class RowGroups:
    """The best score of each group of contiguous rows, by columns rather than by group.

    `np.maximum.reduceat` pays for every group: 0.28 ms for 12.5k articles of 4 chunks
    (50k chunks, one language at 100k passages). Here the first `width` rows of every
    group are `width` gathers and element-wise maxima over all groups at once (0.06 ms),
    and only the rows of the longer groups past `width` go through `reduceat`. The width
    is the one that costs least for these groups (`_width`).
    """

    def __init__(self, starts: np.ndarray, width: int | None = None) -> None:
        starts = np.asarray(starts, dtype=np.int64)
        sizes = np.diff(starts)
        self.rows = int(starts[-1]) if starts.size else 0
        width = _width(sizes) if width is None else max(1, width)
        # one row of indexes per column; the extra slot `rows` holds -inf
        kind = np.int32 if self.rows < np.iinfo(np.int32).max else np.int64
        j = np.arange(width, dtype=np.int64)[:, None]
        self.columns = np.where(sizes > j, starts[:-1] + j, self.rows).astype(kind)
        self.long = np.flatnonzero(sizes > width)
        self.long_rows, ends = spans(starts[self.long] + width, sizes[self.long] - width)
        self.long_starts = ends[:-1]

    def best(self, scores: np.ndarray) -> np.ndarray:
        if scores.size != self.rows:
            raise ValueError(f"expected {self.rows} scores, got {scores.size}")
        padded = np.empty(self.rows + 1, dtype=np.float32)
        padded[: self.rows] = scores
        padded[self.rows] = -np.inf
        best = padded[self.columns[0]]
        for column in self.columns[1:]:
            np.maximum(best, padded[column], out=best)
        if self.long.size:
            rest = np.maximum.reduceat(padded[self.long_rows], self.long_starts)
            best[self.long] = np.maximum(best[self.long], rest)
        return best


def spans(firsts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of spans (`sizes[i]` rows from `firsts[i]`), concatenated in their order,
    and where each span starts in that list (one past the end last)."""
    rows = np.repeat(firsts - np.cumsum(sizes) + sizes, sizes)
    rows += np.arange(int(sizes.sum()), dtype=np.int64)
    local_starts = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=local_starts[1:])
    return rows, local_starts


def _width(sizes: np.ndarray, most: int = 16) -> int:
    """The column count that costs least: each column reads every group once; each group
    longer than the columns costs about ten reads more in `reduceat`, plus its rows past
    them (a knowledge base of one-section articles and a few long ones gets one column)."""
    if not sizes.size:
        return 1
    widths = np.arange(1, most + 1)
    past = sizes[None, :] - widths[:, None]
    cost = widths * sizes.size + 10 * (past > 0).sum(axis=1) + np.maximum(past, 0).sum(axis=1)
    return int(widths[np.argmin(cost)])


def gathered(scores: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """`scores[positions]`, with the minimum score where the position is -1."""
    if not positions.size:
        return np.zeros(0, dtype=np.float32)
    floor = float(scores.min()) if scores.size else 0.0
    out = scores[np.maximum(positions, 0)] if scores.size else np.zeros(positions.size)
    return np.where(positions >= 0, out, floor).astype(np.float32)


def frozen_langs(langs: Mapping[str, LanguageIndexes]) -> list[str]:
    """Languages that have at least one indexed article."""
    return sorted(lang for lang, index in langs.items() if index.articles)
