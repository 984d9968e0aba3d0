"""Fits the confidence curves and the answer threshold to a deployment's labelled questions.

The confidence of an answer is two logistic curves (`retrieval.fusion.Calibration`): one
over the dense similarity of the top article, one over the share of the question's idf mass
it contains. Their midpoints depend on the embedding model (multilingual-e5 puts almost
every pair above 0.7 cosine, MiniLM spreads them from 0 to 0.8) and on the knowledge base,
so a deployment that changes either should refit them on its own questions:

    kakehashi calibrate --cases my_questions.jsonl

Each curve is a one-variable logistic regression of "the top article is a gold one" on its
signal, over every labelled case (answerable and not). The answer threshold is then the
lowest that keeps false answers at or under the limit, which answers as many questions
correctly as that limit allows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from eval.cases import Case
from retrieval.fusion import Calibration, FusionWeights, confidence
from retrieval.hybrid import HybridRetriever


class CalibrationError(ValueError):
    """The cases cannot support a fit (too few, or the signal does not separate them)."""


MIN_CASES = 20
# the settings' bounds: a flatter or farther curve says the signal does not separate
MAX_SCALE = 1.0
MAX_MIDPOINT = 5.0


@dataclass(frozen=True)
class Observation:
    """One labelled question as the retriever saw it."""

    lang: str
    answerable: bool
    top_is_gold: bool
    similarity: float | None  # dense similarity of the top article (None: no dense)
    coverage: float  # share of the question's idf mass the top article holds
    weights: FusionWeights
    encoder_similarity: float | None = None  # the sentence encoder's (None: not used)
    signals: Mapping[str, float] = field(default_factory=dict)  # all the retriever reported
    source: str = ""  # the case's file: one set of writers


def check_cases(cases: Sequence[Case]) -> None:
    """Refuse, before anything is loaded, cases that cannot support a calibration."""
    if not any(case.gold for case in cases):
        raise CalibrationError("the cases need answerable questions (with gold article ids)")
    if not any(case.gold == () for case in cases):
        raise CalibrationError(
            "the cases need unanswerable questions (gold: []) to set the answer threshold"
        )


def observe(retriever: HybridRetriever, cases: Sequence[Case]) -> list[Observation]:
    """Run the labelled cases (those with `gold`) through the retriever in hybrid mode."""
    observations = []
    for case in cases:
        if case.gold is None:
            continue
        result = retriever.retrieve(case.text, lang=case.lang, k=1)
        observations.append(
            Observation(
                lang=result.lang,
                answerable=bool(case.gold),
                top_is_gold=result.top is not None and result.top.article_id in case.gold,
                similarity=result.signals.get("similarity"),
                coverage=result.signals.get("article_coverage", 0.0),
                weights=retriever.fusion_weights(result.lang),
                encoder_similarity=result.signals.get("encoder_similarity"),
                signals=dict(result.signals),
                source=case.source,
            )
        )
    return observations


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    answered_correct: float
    false_answer: float


@dataclass(frozen=True)
class Fit:
    calibration: Calibration
    point: OperatingPoint
    dense_cases: int
    lexical_cases: int


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[float, float]:
    """(midpoint, scale) of p(y | x) = 1 / (1 + exp(-(x - midpoint) / scale)), by Newton."""
    if x.size < MIN_CASES:
        raise CalibrationError(f"need at least {MIN_CASES} cases to fit a curve, got {x.size}")
    if y.all() or not y.any():
        raise CalibrationError("the cases need both right and wrong top articles to fit a curve")
    mean, spread = float(x.mean()), float(x.std()) or 1.0
    z = (x - mean) / spread
    design = np.stack([np.ones_like(z), z], axis=1)
    beta = np.zeros(2)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (y - p) - ridge * beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if float(np.abs(step).max()) < 1e-8:
            break
    intercept, slope = float(beta[0]), float(beta[1])
    if slope <= 1e-6:
        raise CalibrationError("the signal does not rise with right answers in these cases")
    midpoint, scale = mean - intercept * spread / slope, spread / slope
    if scale > MAX_SCALE or abs(midpoint) > MAX_MIDPOINT:
        raise CalibrationError(
            f"the signal barely separates right from wrong answers in these cases (the fitted "
            f"curve: midpoint {midpoint:.2f}, scale {scale:.2f}): label more questions, or "
            "check that the gold article ids are right"
        )
    return midpoint, scale


def operating_point(
    confidences: Sequence[float],
    observations: Sequence[Observation],
    max_false_answer: float,
    threshold: float | None = None,
) -> OperatingPoint:
    """The figures at `threshold`; by default at the lowest one within the false-answer limit.

    The lowest threshold is the best: answering fewer questions never answers more of them
    correctly.
    """
    pairs = list(zip(confidences, observations, strict=True))
    answerable = [(c, o.top_is_gold) for c, o in pairs if o.answerable]
    unanswerable = sorted((c for c, o in pairs if not o.answerable), reverse=True)
    if threshold is None:
        allowed = math.floor(max_false_answer * len(unanswerable) + 1e-9)
        # Answering at t answers every unanswerable case scoring >= t: stay above the
        # (allowed + 1)-th highest of them (rounded up to the 4 decimals settings show).
        threshold = 0.0
        if len(unanswerable) > allowed:
            above = unanswerable[allowed]
            threshold = round(math.floor(above * 1e4) / 1e4 + 1e-4, 4)
            if threshold <= above:  # float rounding at the fourth decimal
                threshold = round(threshold + 1e-4, 4)
        threshold = min(1.0, threshold)

    def share(items: list[bool]) -> float:
        return sum(items) / len(items) if items else 0.0

    return OperatingPoint(
        threshold=threshold,
        answered_correct=share([c >= threshold and gold for c, gold in answerable]),
        false_answer=share([c >= threshold for c in unanswerable]),
    )


def calibrate(
    observations: Sequence[Observation],
    max_false_answer: float = 0.10,
    base: Calibration | None = None,
) -> Fit:
    """Fit both curves and the answer threshold to labelled observations (the encoder's
    curve is taken from `base`)."""
    base = base or Calibration()
    if not 0 <= max_false_answer < 1:
        raise CalibrationError("the false-answer limit must be in [0, 1)")
    if not any(not o.answerable for o in observations):
        raise CalibrationError(
            "the cases need unanswerable questions (gold: []) to set the answer threshold"
        )
    dense = [o for o in observations if o.similarity is not None and o.weights.dense > 0]
    lexical = [o for o in observations if o.weights.lexical > 0]
    default = Calibration()
    dense_midpoint, dense_scale = default.dense_midpoint, default.dense_scale
    if dense:
        dense_midpoint, dense_scale = fit_logistic(
            np.array([o.similarity for o in dense], dtype=float),
            np.array([o.top_is_gold for o in dense], dtype=float),
        )
    lexical_midpoint, lexical_scale = fit_logistic(
        np.array([o.coverage for o in lexical], dtype=float),
        np.array([o.top_is_gold for o in lexical], dtype=float),
    )
    calibration = Calibration(
        encoder_midpoint=base.encoder_midpoint,
        encoder_scale=base.encoder_scale,
        encoder_weight=base.encoder_weight,
        dense_midpoint=round(dense_midpoint, 4),
        dense_scale=round(dense_scale, 4),
        lexical_midpoint=round(lexical_midpoint, 4),
        lexical_scale=round(lexical_scale, 4),
    )
    return Fit(
        calibration=calibration,
        point=evaluate(observations, calibration, max_false_answer),
        dense_cases=len(dense),
        lexical_cases=len(lexical),
    )


def evaluate(
    observations: Sequence[Observation],
    calibration: Calibration,
    max_false_answer: float,
    threshold: float | None = None,
) -> OperatingPoint:
    """The operating point the curves give on these observations (see `operating_point`)."""
    return operating_point(
        curve_scores(observations, calibration), observations, max_false_answer, threshold
    )


def curve_scores(observations: Sequence[Observation], calibration: Calibration) -> list[float]:
    """The curves' confidence of each observation, rounded as the retriever rounds it (so a
    threshold picked on them holds in the live bot too)."""
    return [
        round(confidence(o.similarity, o.coverage, o.weights, calibration, o.encoder_similarity), 4)
        for o in observations
    ]
