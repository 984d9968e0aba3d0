"""Per-language thresholds that hold for writers the fit never saw, and the learned model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from eval.answer_fit import fit_languages
from eval.calibration import Observation, calibrate
from retrieval.fusion import Calibration
from tests.retrieval.test_fusion import LEXICAL_ONLY


def _writers(rng: np.random.Generator, sets: dict[str, float], n: int = 120) -> list[Observation]:
    """Lexical-only questions from several sets of writers; `sets` gives each set how close
    its unanswerable questions come to the articles (their coverage)."""
    out = []
    for source, near in sets.items():
        for _ in range(n):
            answerable = rng.uniform() < 0.7
            good = answerable and rng.uniform() < 0.85
            mean = 0.65 if good else (near if not answerable else 0.35)
            coverage = float(np.clip(rng.normal(mean, 0.1), 0, 1))
            margin = float(rng.normal(0.3 if good else 0.0, 0.05))
            out.append(
                Observation(
                    lang="ja",
                    answerable=answerable,
                    top_is_gold=good,
                    similarity=None,
                    coverage=coverage,
                    weights=LEXICAL_ONLY,
                    signals={
                        "article_coverage": coverage,
                        "encoder_margin": margin,
                        "encoder_readable": 1.0,
                    },
                    source=source,
                )
            )
    return out


def test_a_set_of_writers_with_nearer_misses_makes_the_threshold_stricter() -> None:
    rng = np.random.default_rng(3)
    observations = _writers(rng, {"a.jsonl": 0.3, "b.jsonl": 0.3, "c.jsonl": 0.3, "d.jsonl": 0.55})
    without_signals = [replace(o, signals={}) for o in observations]
    fit = fit_languages(without_signals, Calibration(), max_false_answer=0.08)["ja"]
    assert fit.model is None  # no encoder signals: the curves
    assert fit.limit < 0.08, "in-sample 8 % answers more than 8 % of a new set's"
    assert fit.cross_validated.false_answer <= 0.08
    assert fit.groups == 4


def test_the_learned_model_is_kept_where_it_answers_more_for_new_writers() -> None:
    rng = np.random.default_rng(4)
    observations = _writers(rng, {"a.jsonl": 0.4, "b.jsonl": 0.4, "c.jsonl": 0.45})
    curves = calibrate(observations, 0.10).calibration  # as `kakehashi calibrate` fits them
    fit = fit_languages(observations, curves, max_false_answer=0.10)["ja"]
    assert fit.model is not None, "the encoder margin separates right from wrong answers"
    assert fit.cross_validated.answered_correct > fit.curves.answered_correct
    assert fit.cross_validated.false_answer <= 0.10


def test_one_file_of_questions_is_cross_validated_in_folds() -> None:
    rng = np.random.default_rng(5)
    observations = _writers(rng, {"mine.jsonl": 0.3}, n=300)
    fit = fit_languages(observations, Calibration(), max_false_answer=0.10)["ja"]
    assert fit.groups == 5
    assert fit.cross_validated.false_answer <= 0.10
