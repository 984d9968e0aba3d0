"""Fitting the confidence curves and the answer threshold to labelled questions."""

from __future__ import annotations

import numpy as np
import pytest

from eval.calibration import (
    CalibrationError,
    Observation,
    calibrate,
    fit_logistic,
    operating_point,
)
from tests.retrieval.test_fusion import HYBRID, LEXICAL_ONLY


def test_fit_recovers_a_known_curve() -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, 4000)
    p = 1 / (1 + np.exp(-(x - 0.6) / 0.08))
    y = (rng.uniform(0, 1, x.size) < p).astype(float)
    midpoint, scale = fit_logistic(x, y)
    assert midpoint == pytest.approx(0.6, abs=0.02)
    assert scale == pytest.approx(0.08, abs=0.015)


def test_fit_refuses_what_it_cannot_fit() -> None:
    with pytest.raises(CalibrationError, match="at least 20"):
        fit_logistic(np.linspace(0, 1, 5), np.array([0, 0, 1, 1, 1.0]))
    with pytest.raises(CalibrationError, match="both right and wrong"):
        fit_logistic(np.linspace(0, 1, 30), np.ones(30))
    # a signal that barely rises gives a curve too flat to be a setting
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 400)
    with pytest.raises(CalibrationError, match="barely separates"):
        fit_logistic(x, (rng.uniform(0, 1, x.size) < 0.45 + 0.1 * x).astype(float))
    # a signal that falls as answers get right is no confidence at all
    x = np.linspace(0, 1, 40)
    with pytest.raises(CalibrationError, match="does not rise"):
        fit_logistic(x, (x < 0.5).astype(float))


def _obs(
    answerable: bool, gold: bool, coverage: float, similarity: float | None = None
) -> Observation:
    return Observation(
        lang="en",
        answerable=answerable,
        top_is_gold=gold,
        similarity=similarity,
        coverage=coverage,
        weights=HYBRID if similarity is not None else LEXICAL_ONLY,
    )


def test_operating_point_answers_as_much_as_the_limit_allows() -> None:
    observations = [_obs(True, True, 0)] * 6 + [_obs(True, False, 0)] + [_obs(False, False, 0)] * 10
    confidences = [0.9, 0.8, 0.7, 0.6, 0.5, 0.2, 0.95] + [0.85, 0.55] + [0.1] * 8
    point = operating_point(confidences, observations, max_false_answer=0.10)
    # one false answer of ten is allowed (0.85), the second (0.55) is not
    assert 0.55 < point.threshold <= 0.5501
    assert point.false_answer == pytest.approx(0.1)
    assert point.answered_correct == pytest.approx(4 / 7)  # 0.9 0.8 0.7 0.6 (0.95 is wrong)
    strict = operating_point(confidences, observations, max_false_answer=0.0)
    assert 0.85 < strict.threshold <= 0.8501 and strict.false_answer == 0.0
    assert strict.answered_correct == pytest.approx(1 / 7)
    fixed = operating_point(confidences, observations, 0.10, threshold=0.5)
    assert fixed.threshold == 0.5 and fixed.false_answer == pytest.approx(0.2)


def test_calibrate_fits_both_curves_and_meets_the_limit() -> None:
    rng = np.random.default_rng(3)
    observations = []
    for _ in range(300):
        answerable = rng.uniform() < 0.75
        good = answerable and rng.uniform() < 0.85
        similarity = rng.normal(0.75 if good else 0.62, 0.05)  # an e5-like compressed range
        coverage = float(np.clip(rng.normal(0.7 if good else 0.4, 0.15), 0, 1))
        observations.append(_obs(answerable, good, coverage, similarity))
    fit = calibrate(observations, max_false_answer=0.10)
    assert 0.62 < fit.calibration.dense_midpoint < 0.75
    assert 0.4 < fit.calibration.lexical_midpoint < 0.7
    assert fit.point.false_answer <= 0.10
    assert fit.point.answered_correct > 0.6
    assert fit.dense_cases == fit.lexical_cases == 300


def test_calibrate_needs_unanswerable_questions() -> None:
    observations = [_obs(True, i % 3 > 0, i / 40) for i in range(40)]
    with pytest.raises(CalibrationError, match="unanswerable"):
        calibrate(observations)
