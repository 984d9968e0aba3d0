"""Fusion weights per language, article score fusion, and answer confidence."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from retrieval.fusion import (
    Calibration,
    FusionWeights,
    confidence,
    fuse_articles,
    normalise,
    standardise,
    weights_for,
)

LEXICAL_ONLY = FusionWeights(dense=0.0, lexical=1.0)
HYBRID = FusionWeights(dense=2.0, lexical=1.0)


def ranking(scores: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")]


# --------------------------------------------------------------------------- weights_for


def test_lexical_and_dense_modes_use_one_retriever() -> None:
    assert weights_for("en", "lexical", ("en",)) == FusionWeights(dense=0.0, lexical=1.0)
    assert weights_for("en", "dense", ("en",)) == FusionWeights(dense=1.0, lexical=0.0)
    # The mode wins over language coverage.
    assert weights_for("ja", "dense", ("en",)).dense > 0
    assert weights_for("en", "lexical", ("en",)).dense == 0


def test_hybrid_uses_dense_for_covered_languages() -> None:
    weights = weights_for("en", "hybrid", ("en",), covered_dense_weight=2.0)
    assert weights == FusionWeights(dense=2.0, lexical=1.0)
    assert weights.uses_dense


def test_hybrid_gives_dense_zero_outside_embedding_languages() -> None:
    weights = weights_for("ja", "hybrid", ("en",))
    assert weights.dense == 0.0
    assert weights.lexical == 1.0
    assert not weights.uses_dense


def test_other_dense_weight_applies_outside_embedding_languages() -> None:
    assert weights_for("ja", "hybrid", ("en",), other_dense_weight=0.25).dense == 0.25


def test_star_covers_every_language() -> None:
    for lang in ("en", "ja", "zh", "ko"):
        assert weights_for(lang, "hybrid", ("*",), covered_dense_weight=1.5).dense == 1.5


def test_rrf_baseline_gives_both_retrievers_an_equal_vote_in_every_language() -> None:
    for lang in ("en", "ja"):
        weights = weights_for(lang, "rrf", ("en",))
        assert weights.rrf
        assert weights.dense == weights.lexical > 0


def test_unknown_mode_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="'semantic'"):
        weights_for("en", "semantic", ("en",))


# --------------------------------------------------------------------------- normalise


@pytest.mark.parametrize("func", [normalise, standardise])
def test_constant_scores_carry_no_evidence(func: Callable[[np.ndarray], np.ndarray]) -> None:
    out = func(np.full(5, 3.7, dtype=np.float32))
    assert out.shape == (5,)
    assert np.all(out == 0)


@pytest.mark.parametrize("func", [normalise, standardise])
def test_empty_scores_stay_empty(func: Callable[[np.ndarray], np.ndarray]) -> None:
    assert func(np.zeros(0, dtype=np.float32)).size == 0


def test_normalise_maps_to_unit_interval_keeping_order() -> None:
    scores = np.array([3.0, -1.0, 7.0, 0.5])
    out = normalise(scores)
    assert out.min() == 0.0 and out.max() == 1.0
    assert ranking(out) == ranking(scores)


def test_standardise_gives_zero_mean_unit_spread_keeping_order() -> None:
    scores = np.array([3.0, -1.0, 7.0, 0.5, 2.0])
    out = standardise(scores)
    assert out.mean() == pytest.approx(0.0, abs=1e-9)
    assert out.std() == pytest.approx(1.0)
    assert ranking(out) == ranking(scores)


# --------------------------------------------------------------------------- fuse_articles

RNG = np.random.default_rng(7)
LEXICAL = np.array([2.1, 0.3, 5.4, 0.0, 1.7, 3.3, 0.9, 4.8], dtype=np.float32)


@pytest.mark.parametrize(
    "dense",
    [RNG.random(LEXICAL.size).astype(np.float32), np.full(LEXICAL.size, 0.8, np.float32), None],
    ids=["random", "constant", "absent"],
)
def test_useless_dense_at_weight_zero_leaves_the_lexical_ranking(dense: np.ndarray | None) -> None:
    fused = fuse_articles(dense, LEXICAL, LEXICAL_ONLY)
    assert ranking(fused) == ranking(LEXICAL)


def test_constant_dense_does_not_change_the_lexical_ranking_even_with_weight() -> None:
    fused = fuse_articles(np.full(LEXICAL.size, 0.8, np.float32), LEXICAL, HYBRID)
    assert ranking(fused) == ranking(LEXICAL)


def test_when_both_retrievers_agree_the_top_is_kept() -> None:
    dense = np.array([0.41, 0.30, 0.77, 0.12, 0.38, 0.52, 0.33, 0.60], dtype=np.float32)
    assert int(np.argmax(dense)) == int(np.argmax(LEXICAL))
    for weights in (HYBRID, FusionWeights(1.0, 1.0), FusionWeights(1.0, 3.0)):
        assert ranking(fuse_articles(dense, LEXICAL, weights))[0] == int(np.argmax(LEXICAL))


def test_strong_dense_beats_noisy_lexical_with_weights_two_to_one() -> None:
    # Dense clearly prefers article 0; lexical scores barely differ and point elsewhere.
    dense = np.array([0.82, 0.31, 0.28, 0.35, 0.30, 0.33], dtype=np.float32)
    lexical = np.array([1.00, 1.30, 1.10, 0.90, 1.20, 1.05], dtype=np.float32)
    assert ranking(lexical)[0] != 0
    assert ranking(fuse_articles(dense, lexical, HYBRID))[0] == 0


def test_dense_scale_does_not_matter_only_its_shape() -> None:
    dense = np.array([0.82, 0.31, 0.28, 0.35, 0.30, 0.33], dtype=np.float32)
    lexical = np.array([1.00, 1.30, 1.10, 0.90, 1.20, 1.05], dtype=np.float32)
    a = fuse_articles(dense, lexical, HYBRID)
    b = fuse_articles(dense * 10 + 3, lexical * 0.1, HYBRID)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_rrf_is_symmetric_and_keeps_an_agreed_top() -> None:
    rrf = weights_for("en", "rrf", ("en",))
    dense = np.array([0.41, 0.30, 0.77, 0.12, 0.38, 0.52, 0.33, 0.60], dtype=np.float32)
    fused = fuse_articles(dense, LEXICAL, rrf)
    np.testing.assert_allclose(fused, fuse_articles(LEXICAL, dense, rrf))
    assert ranking(fused)[0] == int(np.argmax(LEXICAL))


def test_fusion_needs_a_positive_weight() -> None:
    with pytest.raises(ValueError):
        fuse_articles(None, LEXICAL, FusionWeights(0.0, 0.0))


# --------------------------------------------------------------------------- confidence


@pytest.mark.parametrize("similarity", [None, -1.0, 0.0, 0.42, 1.0, 5.0])
@pytest.mark.parametrize("coverage", [0.0, 0.45, 1.0])
@pytest.mark.parametrize("weights", [HYBRID, LEXICAL_ONLY, FusionWeights(1.0, 0.0)])
def test_confidence_is_a_probability(
    similarity: float | None, coverage: float, weights: FusionWeights
) -> None:
    assert 0.0 <= confidence(similarity, coverage, weights) <= 1.0


def test_confidence_increases_with_similarity() -> None:
    values = [confidence(s, 0.5, HYBRID) for s in (0.1, 0.3, 0.4, 0.5, 0.7, 0.9)]
    assert values == sorted(values)
    assert values[-1] > values[0] + 0.3


def test_confidence_increases_with_coverage() -> None:
    for weights in (HYBRID, LEXICAL_ONLY):
        values = [confidence(0.45, c, weights) for c in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
        assert values == sorted(values)
        assert values[-1] > values[0]


def test_confidence_uses_only_lexical_when_dense_weight_is_zero() -> None:
    for coverage in (0.1, 0.5, 0.9):
        expected = confidence(None, coverage, LEXICAL_ONLY)
        assert confidence(0.0, coverage, LEXICAL_ONLY) == expected
        assert confidence(0.99, coverage, LEXICAL_ONLY) == expected


def test_dense_only_confidence_ignores_coverage() -> None:
    dense_only = FusionWeights(1.0, 0.0)
    assert confidence(0.6, 0.0, dense_only) == confidence(0.6, 1.0, dense_only)


def test_full_coverage_and_high_similarity_are_confident_and_none_is_not() -> None:
    assert confidence(0.9, 1.0, HYBRID) > 0.9
    assert confidence(0.0, 0.0, HYBRID) < 0.1


def test_calibration_midpoint_is_an_even_chance() -> None:
    calibration = Calibration(lexical_midpoint=0.3)
    assert confidence(None, 0.3, LEXICAL_ONLY, calibration) == pytest.approx(0.5)


def test_the_sentence_encoder_counts_only_where_it_has_a_weight() -> None:
    # the encoder prefers article 1 strongly, which BM25 ranks next to last
    encoder = np.array([0.1, 0.9, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1], dtype=np.float32)
    without = fuse_articles(None, LEXICAL, LEXICAL_ONLY, encoder=encoder)
    assert ranking(without) == ranking(LEXICAL)
    weighted = FusionWeights(dense=0.0, lexical=1.0, encoder=3.0)
    assert ranking(fuse_articles(None, LEXICAL, weighted, encoder=encoder))[0] == 1
    # no view from the encoder (a question it cannot read): BM25's ranking
    assert ranking(fuse_articles(None, LEXICAL, weighted, encoder=None)) == ranking(LEXICAL)


def test_the_encoder_weight_is_for_hybrid_search_of_its_language_only() -> None:
    assert weights_for("ja", "hybrid", ("en",), encoder_weight=0.5).encoder == 0.5
    assert weights_for("ja", "lexical", ("en",), encoder_weight=0.5).encoder == 0.0


def test_the_retriever_ranks_with_the_encoder_in_japanese_only_by_default() -> None:
    from retrieval.hybrid import HybridRetriever
    from retrieval.sentence_encoder import HashingSentenceEncoder
    from tests.conftest import CountingEmbedding

    retriever = HybridRetriever(
        CountingEmbedding(size=8), model_name="fake", sentence_encoder=HashingSentenceEncoder()
    )
    assert retriever.fusion_weights("ja").encoder == 0.5
    assert retriever.fusion_weights("en").encoder == 0.0
    assert retriever.fusion_weights("ja", "lexical").encoder == 0.0
