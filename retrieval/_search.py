"""The evidence of one query over one language's published indexes, as numpy arrays.

Exact below `RetrievalConfig.approximate_above` chunks: every chunk and title is scored
(one matrix-vector product over the flat index's own storage, no copy), as the fusion
was calibrated. Above it, the dense side asks the approximate index for the nearest
`candidates` chunks and titles, scores the articles they (and the best lexical
matches) belong to exactly, gives every other article the candidates' floor, and takes
the mean and spread of the dense scores from a fixed sample of articles, so that the
z-scores fusion uses stay on the scale the calibration knows. Nothing here loops over
chunks in Python.
"""

from __future__ import annotations

import numpy as np

from retrieval._hybrid_parts import (
    ArticleEvidence,
    DenseSample,
    LanguageIndexes,
    SearchArrays,
    best_per_row,
    gathered,
    rows_of,
    spans,
)
from retrieval.analysis import READING_PREFIX, reading_words
from retrieval.fusion import FusionWeights, add_encoder, fuse_articles, standardise

ARGSORT_BELOW = 4096  # rank every article up to this many; past it, partition first


def query_tokens(index: LanguageIndexes, query: str) -> list[str]:
    tokens = index.chunk_terms.analyzer.analyze(query)
    if index.lang == "ja":  # typed in kana or romaji: the readings the articles know
        tokens += reading_words(query, index.article_terms.contains)
    return tokens


def evidence(
    index: LanguageIndexes,
    query: str,
    vector: np.ndarray | None,
    weights: FusionWeights,
    title_weight: float,
    candidates: int,
    exact: bool = False,
    encoded: np.ndarray | None = None,
) -> ArticleEvidence:
    """Every signal fusion sees for `query`; `vector` is its embedding (None without
    dense), `encoded` its sentence-encoder vector (None: the encoder has no say). `exact`
    scores every chunk even in an approximate index (for studies)."""
    arrays = index.arrays
    assert arrays is not None, "search a published (frozen) index"
    ids = arrays.article_ids
    tokens = query_tokens(index, query)
    words = {t for t in tokens if not t.startswith(READING_PREFIX)}
    chunk_lexical = index.chunk_lexical(tokens)
    article_lexical = index.article_terms.score_array(tokens)
    best_chunk_lexical = arrays.best(chunk_lexical)
    # Lexical evidence for an article: the whole article matching the question's words,
    # and one section matching them together.
    lexical = standardise(article_lexical) + standardise(best_chunk_lexical)
    chunk_dense = np.zeros(len(arrays.chunk_ids), dtype=np.float32)
    titles = np.zeros(0, dtype=np.float32)
    best_chunk_dense = titles
    dense: np.ndarray | None = None
    spread: tuple[float, float] | None = None
    if vector is not None:
        if index.approximate and not exact:
            chunk_dense, best_chunk_dense, titles, spread = _nearest(
                index, arrays, vector, lexical, candidates, title_weight
            )
        else:
            chunk_dense, titles = _every(index, arrays, vector)
            best_chunk_dense = arrays.best(chunk_dense)
        dense = (1 - title_weight) * best_chunk_dense + title_weight * titles
    fused = fuse_articles(dense, lexical, weights, dense_spread=spread)
    encoder, encoder_spread = None, None
    positions = arrays.encoded_positions
    if encoded is not None and positions is not None:
        assert index.encoded is not None  # it has positions
        if exact or not index.approximate:
            by_chunk = gathered(index.encoded.matrix() @ encoded, positions)
            encoder = arrays.best(by_chunk)
        elif arrays.sample is not None and arrays.sample.encoded_vectors is not None:
            try:
                encoder, encoder_spread = _encoder_candidates(
                    index, arrays, encoded, fused, candidates
                )
            except RuntimeError:  # a chunk without an encoder vector (not after a sync)
                encoder = None
        if encoder is not None:
            fused = add_encoder(fused, weights, encoder, encoder_spread)
    return ArticleEvidence(
        lang=index.lang,
        article_ids=ids,
        tokens=tokens,
        chunk_ids=arrays.chunk_ids,
        owner=arrays.owner,
        chunk_lexical=chunk_lexical,
        chunk_dense=chunk_dense,
        article_lexical=article_lexical,
        best_chunk_lexical=best_chunk_lexical,
        best_chunk_dense=best_chunk_dense,
        title_dense=titles,
        lexical=lexical,
        dense=dense,
        encoder=encoder,
        fused=fused,
        query_words=len(words),
        unknown_words=sum(1 for w in words if not index.article_terms.contains(w)),
        index=index,
    )


def _every(
    index: LanguageIndexes, arrays: SearchArrays, vector: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of every chunk and title, in row order."""
    if arrays.chunk_positions is None or arrays.title_positions is None:  # approximate
        return (
            index.chunk_vectors.vectors(arrays.chunk_id_array) @ vector,
            index.title_vectors.vectors(arrays.keys) @ vector,
        )
    return (
        gathered(index.chunk_vectors.matrix() @ vector, arrays.chunk_positions),
        gathered(index.title_vectors.matrix() @ vector, arrays.title_positions),
    )


def _nearest(
    index: LanguageIndexes,
    arrays: SearchArrays,
    vector: np.ndarray,
    lexical: np.ndarray,
    k: int,
    title_weight: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """Approximate mode: (chunk dense, best chunk dense, title dense, dense mean and std).

    Candidates are the articles of the `k` nearest chunks and titles and the `k` best
    lexical articles; they are scored exactly, the rest get the candidates' floor.
    """
    n, m = len(arrays.article_ids), len(arrays.chunk_ids)
    chunk_hits, chunk_scores = index.chunk_vectors.nearest(vector, k)
    title_hits, title_scores = index.title_vectors.nearest(vector, k)
    chunk_rows = rows_of(chunk_hits, arrays.chunk_rows_by_id)
    title_rows = rows_of(title_hits, arrays.article_rows_by_key)
    lexical_best = np.argpartition(-lexical, k)[:k] if n > k else np.arange(n)
    picked = np.zeros(n, dtype=bool)
    picked[arrays.owner[chunk_rows[chunk_rows >= 0]]] = True
    picked[title_rows[title_rows >= 0]] = True
    picked[lexical_best] = True
    candidates = np.flatnonzero(picked)
    rows, local_starts = _chunk_rows(arrays, candidates)
    exact_chunks = index.chunk_vectors.vectors(arrays.chunk_id_array[rows]) @ vector
    exact_titles = index.title_vectors.vectors(arrays.keys[candidates]) @ vector
    chunk_floor = float(chunk_scores.min()) if chunk_scores.size else 0.0
    title_floor = float(title_scores.min()) if title_scores.size else 0.0
    chunk_dense = np.full(m, chunk_floor, dtype=np.float32)
    chunk_dense[rows] = exact_chunks
    titles = np.full(n, title_floor, dtype=np.float32)
    titles[candidates] = exact_titles
    best = np.full(n, chunk_floor, dtype=np.float32)
    best[candidates] = best_per_row(exact_chunks.astype(np.float32), local_starts)
    assert arrays.sample is not None
    return chunk_dense, best, titles, _spread(arrays.sample, vector, title_weight)


def _chunk_rows(arrays: SearchArrays, articles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chunk rows of `articles` (article rows), concatenated in their order, and where
    each article's rows start in that list (one past the end last)."""
    starts = arrays.starts[articles]
    return spans(starts, arrays.starts[articles + 1] - starts)


def _encoder_candidates(
    index: LanguageIndexes,
    arrays: SearchArrays,
    encoded: np.ndarray,
    without: np.ndarray,
    k: int,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Approximate mode: the sentence encoder's best-section cosine for the `k` articles
    ranked first without it (the rest get their floor), and the mean and spread of every
    article's from the fixed sample, so that its z-scores stay on the exact scale."""
    assert index.encoded is not None and arrays.sample is not None
    assert arrays.sample.encoded_vectors is not None
    n = len(arrays.article_ids)
    k = max(k, 3)  # the answer confidence reads the encoder's view of the top three
    candidates = np.sort(np.argpartition(-without, k)[:k]) if n > k else np.arange(n)
    rows, local_starts = _chunk_rows(arrays, candidates)
    positions = arrays.encoded_positions
    assert positions is not None  # the caller checked
    if (positions[rows] < 0).any():
        raise RuntimeError("a chunk without an encoder vector")
    scores = index.encoded.matrix()[positions[rows]] @ encoded
    best = best_per_row(scores.astype(np.float32), local_starts)
    out = np.full(n, float(best.min()) if best.size else 0.0, dtype=np.float32)
    out[candidates] = best
    sample = best_per_row(arrays.sample.encoded_vectors @ encoded, arrays.sample.starts)
    return out, (float(sample.mean()), float(sample.std()))


def _spread(sample: DenseSample, vector: np.ndarray, title_weight: float) -> tuple[float, float]:
    """The mean and standard deviation of the dense article score, from the sample."""
    best = best_per_row(sample.chunk_vectors @ vector, sample.starts)
    scores = (1 - title_weight) * best + title_weight * (sample.title_vectors @ vector)
    return float(scores.mean()), float(scores.std())


class PassageScores:
    """The fused score of chunk rows, as `combine` gives it over every section of the
    language (min-max normalised over all of them), computed only for the rows asked.

    `sections` (chunk row -> is a section) leaves the articles' questions out of the
    ranges: a short question matching the customer's words has BM25 scores far above any
    section's, and normalised with it the sections' lexical scores would shrink until the
    dense ones alone chose which section answers."""

    def __init__(
        self,
        dense: np.ndarray,
        lexical: np.ndarray,
        weights: FusionWeights,
        sections: np.ndarray | None = None,
    ) -> None:
        total = weights.dense + weights.lexical
        if total <= 0:
            raise ValueError("at least one retriever needs a positive weight")
        self.parts = [
            (weight / total, scores, *_range(scores if sections is None else scores[sections]))
            for weight, scores in ((weights.dense, dense), (weights.lexical, lexical))
            if weight > 0 and scores.size
        ]

    def __call__(self, rows: range) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.float32)
        for weight, scores, low, span in self.parts:
            if span >= 1e-9:
                out += weight * ((scores[rows.start : rows.stop] - low) / span)
        return out


def _range(scores: np.ndarray) -> tuple[float, float]:
    if not scores.size:
        return 0.0, 0.0
    low = float(scores.min())
    return low, float(scores.max()) - low


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the k highest scores, best first, ties in row order."""
    if scores.size <= ARGSORT_BELOW or k >= scores.size:
        return np.argsort(-scores, kind="stable")[:k]
    part = np.argpartition(-scores, k)[:k]
    return part[np.lexsort((part, -scores[part]))]
