"""Language-aware score fusion and answer confidence.

Why not plain reciprocal-rank fusion: RRF gives both retrievers an equal vote, so when one
of them is near random for a language (an English-only embedding model on Japanese) its
noise drags the fused ranking below the good retriever alone. Here each retriever gets a
weight per language: full weight where it is known to work, `other_dense_weight` (0 by
default) for the dense retriever on languages its model does not cover. Scores are
min-max normalised per query and combined linearly (CombSUM), which keeps the margin
information that RRF throws away when both retrievers are good.

Confidence is computed for the top article from absolute, query-independent evidence:
the dense similarity of the article (best passage and title) and the share of the query's
idf mass the article covers. Each is mapped through a logistic curve (calibrated on
`eval/datasets`, see eval/README.md) and the two are averaged with the fusion weights.
A language with a learned answer model (`retrieval.answer_model`, Japanese by default) gets
its probability instead.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from retrieval.answer_model import AnswerModel

ALL_LANGUAGES = "*"


#: How much the sentence encoder counts in ranking, by language, beside BM25's 1 (hybrid
#: mode, exact indexes). Japanese hit@1 on the tuned sets: 0.851 without, 0.892 at 0.5;
#: English gains about a point beside the embedding model, within the noise, so 0.
ENCODER_RANK_WEIGHTS: Mapping[str, float] = {"ja": 0.5}


@dataclass(frozen=True)
class FusionWeights:
    """How much each retriever counts for one query."""

    dense: float
    lexical: float
    rrf: bool = False  # equal-weight reciprocal-rank fusion, kept as a baseline to compare
    # the multilingual sentence encoder's similarity of the question and each article's
    # best section, where it reads the language better than the embedding model (Japanese)
    encoder: float = 0.0

    @property
    def uses_dense(self) -> bool:
        return self.dense > 0


@dataclass(frozen=True)
class Calibration:
    """Logistic curves that turn raw evidence into probabilities of a correct answer.

    The defaults are the curves `kakehashi calibrate` fitted on `eval/datasets` (the
    server's settings default to them too: `app/settings.py`)."""

    dense_midpoint: float = 0.4845
    dense_scale: float = 0.0558
    lexical_midpoint: float = 0.3649
    lexical_scale: float = 0.1862
    # the multilingual sentence encoder's similarity of the question and the top article's
    # best section (`retrieval.sentence_encoder`); weight 0 leaves it out
    encoder_midpoint: float = 0.23
    encoder_scale: float = 0.13
    encoder_weight: float = 2.0
    # learned confidences by language (`retrieval.answer_model`); they replace the curves
    # for their language when the sentence encoder is in use
    models: Mapping[str, AnswerModel] = field(default_factory=dict, hash=False)


def weights_for(
    lang: str,
    mode: str,
    embedding_languages: Collection[str],
    other_dense_weight: float = 0.0,
    covered_dense_weight: float = 1.0,
    encoder_weight: float = 0.0,
) -> FusionWeights:
    """The fusion weights for a query language and retrieval mode.

    Args:
        lang: The query's language.
        mode: "hybrid", "dense" or "lexical".
        embedding_languages: Languages the embedding model is good at ("*" for all).
        other_dense_weight: The dense weight for languages outside `embedding_languages`.
        covered_dense_weight: The dense weight for languages inside it (lexical is 1).
        encoder_weight: The sentence encoder's weight for this language (hybrid only).
    """
    if mode == "dense":
        return FusionWeights(dense=1.0, lexical=0.0)
    if mode == "lexical":
        return FusionWeights(dense=0.0, lexical=1.0)
    if mode == "rrf":
        return FusionWeights(dense=1.0, lexical=1.0, rrf=True)
    if mode != "hybrid":
        raise ValueError(
            f"unknown retrieval mode {mode!r} (expected hybrid, dense, lexical or rrf)"
        )
    covered = ALL_LANGUAGES in embedding_languages or lang in embedding_languages
    return FusionWeights(
        dense=covered_dense_weight if covered else other_dense_weight,
        lexical=1.0,
        encoder=encoder_weight,
    )


def normalise(scores: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]; all-equal scores (no evidence) become zeros."""
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-9:
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def standardise(scores: np.ndarray, spread: tuple[float, float] | None = None) -> np.ndarray:
    """Z-scores (with the given mean and std, or the scores' own); all-equal scores
    (no evidence) become zeros."""
    if scores.size == 0:
        return scores
    mean, std = spread if spread is not None else (float(scores.mean()), float(scores.std()))
    if std < 1e-9:
        return np.zeros_like(scores)
    return (scores - mean) / std


def fuse_articles(
    dense: np.ndarray | None,
    lexical: np.ndarray,
    weights: FusionWeights,
    dense_spread: tuple[float, float] | None = None,
    encoder: np.ndarray | None = None,
    encoder_spread: tuple[float, float] | None = None,
) -> np.ndarray:
    """Article scores from aligned dense, lexical (and sentence-encoder) scores: weighted
    sum of z-scores.

    Z-scores (over every article of the language) rather than min-max keep one outlier
    from squashing the rest, and put the retrievers on one scale before weighting.
    `dense_spread` gives the dense scores' (mean, std) when `dense` holds estimates
    for most articles (the approximate index scores only its candidates exactly).
    `encoder` counts with `weights.encoder` when given (None: the encoder has no view),
    `encoder_spread` being to it what `dense_spread` is to `dense`.
    """
    if weights.rrf and dense is not None:
        return reciprocal_rank(dense) + reciprocal_rank(lexical)
    total = weights.dense + weights.lexical
    if total <= 0:
        raise ValueError("at least one retriever needs a positive weight")
    fused = np.zeros(lexical.size, dtype=np.float32)
    if weights.dense > 0 and dense is not None:
        fused += weights.dense * standardise(dense, dense_spread)
    if weights.lexical > 0:
        fused += weights.lexical * standardise(lexical)
    fused /= total
    return fused if encoder is None else add_encoder(fused, weights, encoder, encoder_spread)


def add_encoder(
    fused: np.ndarray,
    weights: FusionWeights,
    encoder: np.ndarray,
    encoder_spread: tuple[float, float] | None = None,
) -> np.ndarray:
    """`fuse_articles`' scores without the encoder (`fused`), with it."""
    if weights.encoder <= 0 or weights.rrf:
        return fused
    base = weights.dense + weights.lexical
    z = standardise(encoder, encoder_spread)
    return ((fused * base + weights.encoder * z) / (base + weights.encoder)).astype(np.float32)


def reciprocal_rank(scores: np.ndarray, k: int = 60) -> np.ndarray:
    """1 / (k + rank) for each item, rank 1 for the highest score."""
    ranks = np.empty(scores.size, dtype=np.float32)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, scores.size + 1)
    return 1.0 / (k + ranks)


def combine(dense: np.ndarray, lexical: np.ndarray, weights: FusionWeights) -> np.ndarray:
    """Fused scores for chunks aligned in both arrays."""
    total = weights.dense + weights.lexical
    if total <= 0:
        raise ValueError("at least one retriever needs a positive weight")
    fused = np.zeros(max(dense.size, lexical.size), dtype=np.float32)
    if weights.dense > 0 and dense.size:
        fused += weights.dense * normalise(dense)
    if weights.lexical > 0 and lexical.size:
        fused += weights.lexical * normalise(lexical)
    return fused / total


def _logistic(x: float, midpoint: float, scale: float) -> float:
    return 1.0 / (1.0 + math.exp(-(x - midpoint) / scale))


def confidence(
    dense_similarity: float | None,
    coverage: float,
    weights: FusionWeights,
    calibration: Calibration = Calibration(),
    encoder_similarity: float | None = None,
) -> float:
    """How sure we are that the top article answers the question, in [0, 1].

    The weighted mean of the curves of the evidence there is: dense similarity (weighted
    as the dense retriever), coverage (as the lexical one) and, when given, the sentence
    encoder's similarity (`calibration.encoder_weight`): the one semantic signal Japanese
    has with an English-only embedding model.
    """
    parts: list[tuple[float, float]] = []
    if weights.dense > 0 and dense_similarity is not None:
        parts.append(
            (
                weights.dense,
                _logistic(dense_similarity, calibration.dense_midpoint, calibration.dense_scale),
            )
        )
    if weights.lexical > 0:
        parts.append(
            (
                weights.lexical,
                _logistic(coverage, calibration.lexical_midpoint, calibration.lexical_scale),
            )
        )
    if parts and encoder_similarity is not None and calibration.encoder_weight > 0:
        parts.append(
            (
                calibration.encoder_weight,
                _logistic(
                    encoder_similarity, calibration.encoder_midpoint, calibration.encoder_scale
                ),
            )
        )
    if not parts:
        return 0.0
    return sum(w * p for w, p in parts) / sum(w for w, _ in parts)
