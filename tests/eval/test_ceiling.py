"""The cross-validated ceiling study: signals from the real retriever, honest operating points."""

from __future__ import annotations

import numpy as np

from bot.answer import Thresholds
from eval.ceiling import CaseSignals, best_operating_point, case_signals, study
from retrieval.hybrid import HybridRetriever, RetrievalConfig
from tests.conftest import CountingEmbedding
from tests.eval.test_runner import ARTICLES


def _case(gold: tuple[str, ...], good: bool, rng: np.random.Generator, lang: str) -> CaseSignals:
    """Three articles; the gold one ("a") scores high when the evidence is `good`."""
    pairs = rng.normal(0, 0.3, size=(3, 4))
    if good:
        pairs[0] += 2.0
    return CaseSignals(
        lang=lang,
        gold=gold,
        article_ids=["a", "b", "c"],
        pairs=pairs,
        query=np.array([3.0, 0.0 if gold else 1.0, 0.0]),
        shipped_top="a" if good else "b",
        shipped_answers=good,
    )


def test_operating_point_respects_the_false_answer_limit() -> None:
    cases = [
        _case(("a",), True, np.random.default_rng(1), "en"),
        _case(("a",), True, np.random.default_rng(2), "en"),
        _case((), False, np.random.default_rng(3), "en"),
    ]
    # The unanswerable case scores above one correct answer: answering that one too
    # would answer the unanswerable case, so only the surer one is answered.
    point = best_operating_point(cases, [("a", 0.9), ("a", 0.5), ("b", 0.7)])
    assert point["hit@1"] == 1.0
    assert point["answered_correct"] == 0.5
    assert point["false_answer"] == 0.0
    assert point["threshold"] == 0.9


def test_study_learns_a_separable_signal_out_of_fold() -> None:
    rng = np.random.default_rng(0)
    cases = [_case(("a",), True, rng, lang) for lang in ("en", "ja") for _ in range(30)]
    cases += [_case((), False, rng, lang) for lang in ("en", "ja") for _ in range(10)]
    report = study(cases, folds=5, seeds=[0])
    for group in ("all", "en", "ja"):
        learned = report[group]["learned"]["logistic"]
        assert learned["hit@1"] == 1.0
        assert learned["answered_correct"] >= 0.9
        assert learned["false_answer"] <= 0.10
    assert report["en"]["n_answerable"] == 30 and report["en"]["n_unanswerable"] == 10


def test_case_signals_come_from_the_retriever() -> None:
    # the fake embedding model is noise: let lexical search lead, as for an uncovered language
    retriever = HybridRetriever(
        CountingEmbedding(size=16),
        model_name="fake",
        config=RetrievalConfig(embedding_languages=()),
    )
    retriever.sync(ARTICLES)
    signals = case_signals(
        retriever, "how do I reset my password", "en", ("password",), Thresholds(), None, None
    )
    assert signals.lang == "en"
    assert sorted(signals.article_ids) == ["password", "returns"]
    assert signals.shipped_top == "password"
    row = signals.article_ids.index("password")
    other = 1 - row
    # the fused score (first column) and the coverage favour the article that answers
    assert signals.pairs[row, 0] > signals.pairs[other, 0]
    assert signals.pairs[row, 5] > signals.pairs[other, 5]
