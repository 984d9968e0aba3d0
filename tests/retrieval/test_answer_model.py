"""The learned answer confidence: its file, its probability, and the retriever using it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from retrieval.answer_model import (
    SHIPPED_MODEL,
    SIGNALS,
    AnswerModel,
    AnswerModelError,
    load,
    to_json,
)
from retrieval.fusion import Calibration
from retrieval.hybrid import HybridRetriever, RetrievalConfig
from retrieval.sentence_encoder import HashingSentenceEncoder
from tests.conftest import CountingEmbedding
from tests.retrieval._hybrid import ARTICLES

MARGIN_ONLY = AnswerModel("en", (0.0, 0.0, 0.0, 40.0, 0.0, 0.0), -2.0)  # trusts the margin alone


def test_probability_is_a_logistic_over_the_named_signals() -> None:
    model = AnswerModel("ja", (1.0, 0.0, 2.0, 0.0, 0.0, -1.0), 0.5)
    signals = {"article_coverage": 0.4, "encoder_similarity": 0.3, "encoder_readable": 1.0}
    z = 0.5 + 0.4 + 0.6 - 1.0
    assert model.probability(signals) == pytest.approx(1 / (1 + math.exp(-z)))
    assert model.probability({}) == pytest.approx(1 / (1 + math.exp(-0.5)))  # absent: 0
    assert AnswerModel("ja", (-100.0, 0, 0, 0, 0, 0), 0.0).probability({"article_coverage": 9}) == 0


def test_a_written_model_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "answer.json"
    path.write_text(to_json([MARGIN_ONLY], "abc", {"en": {"threshold": 0.7}}), "utf-8")
    assert load(path) == {"en": MARGIN_ONLY}
    assert "ja" in load(SHIPPED_MODEL)  # the shipped file: Japanese on the learned model


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a readable JSON file"),
        ('{"format": 9}', "not an answer model of format 1"),
        ('{"format": 1, "signals": ["coverage"], "languages": {}}', "run `kakehashi calibrate`"),
        (
            '{"format": 1, "signals": %s, "languages": {"en": {"weights": [1]}}}',
            "needs 'weights' and 'intercept'",
        ),
        (
            '{"format": 1, "signals": %s, "languages": {"en": {"weights": [1], "intercept": 0}}}',
            "needs 6 finite weights",
        ),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "answer.json"
    path.write_text(text.replace("%s", str(list(SIGNALS)).replace("'", '"')), "utf-8")
    with pytest.raises(AnswerModelError, match=message):
        load(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AnswerModelError, match="no such answer-model file"):
        load(tmp_path / "missing.json")


def _retriever(calibration: Calibration) -> HybridRetriever:
    retriever = HybridRetriever(
        CountingEmbedding(size=16),
        model_name="fake",
        config=RetrievalConfig(calibration=calibration),
        sentence_encoder=HashingSentenceEncoder(dimensions=16),
    )
    retriever.sync(ARTICLES)
    return retriever


def test_the_retriever_reports_the_encoder_margin_and_uses_the_language_model() -> None:
    curves = _retriever(Calibration())
    learned = _retriever(Calibration(models={"en": MARGIN_ONLY}))
    question = "I forgot my password"
    plain, modelled = curves.retrieve(question, lang="en"), learned.retrieve(question, lang="en")
    assert plain.top is not None and modelled.top is not None
    assert plain.top.article_id == modelled.top.article_id  # ranking untouched
    signals = modelled.signals
    assert signals["encoder_readable"] == 1.0
    assert "encoder_similarity" in signals and "encoder_margin" in signals
    assert modelled.confidence == pytest.approx(MARGIN_ONLY.probability(signals), abs=1e-4)
    assert modelled.confidence != plain.confidence


def test_the_confidence_does_not_depend_on_how_many_articles_are_asked_for() -> None:
    learned = _retriever(Calibration(models={"en": MARGIN_ONLY}))
    question = "I forgot my password"
    confidences = {learned.retrieve(question, lang="en", k=k).confidence for k in (1, 2, 3, 10)}
    assert len(confidences) == 1
