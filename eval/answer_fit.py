"""Per-language answer thresholds that hold for new writers, and the learned answer model.

Labelled questions come in sets, each written by other people (`Case.source`, the file).
A threshold picked on every set answers about as many unanswerable questions as the limit
allows *on those sets*; a new set of writers asks its own near-misses, and the blind sets
showed it: 8 % in cross-validation became 10-11 % on new writers. So the threshold of each
language is picked so that, **leaving each set out in turn** and picking the threshold on
the others, the left-out sets' pooled false answers stay within the limit. Where a
language has fewer than three sets, stratified folds stand in for them.

For languages the sentence encoder serves, a logistic regression over the search's signals
(`retrieval.answer_model`) competes with the confidence curves under the same rule: each
set is scored by a regression fitted without it, and the model is kept where it answers
at least `MIN_GAIN` more of the questions correctly than the curves do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eval.calibration import Observation, OperatingPoint, curve_scores, operating_point
from retrieval.answer_model import SIGNALS, AnswerModel
from retrieval.fusion import Calibration

MIN_SOURCES = 3
FOLDS = 5
LIMIT_STEP = 0.0025
REGULARISATION_C = 1.0
# what the model must answer correctly beyond the curves to be worth keeping
MIN_GAIN = 0.01


@dataclass(frozen=True)
class LanguageFit:
    """One language's threshold (and model, if kept), with what new writers can expect."""

    lang: str
    threshold: float
    limit: float  # the false-answer limit the threshold was picked at on every set
    cross_validated: OperatingPoint  # each set at the threshold picked without it
    curves: OperatingPoint  # the confidence curves, picked and measured the same way
    model: AnswerModel | None  # None: the curves are as good
    n_answerable: int
    n_unanswerable: int
    groups: int  # sets of writers (or folds, when there are fewer than three sets)


def _groups(observations: Sequence[Observation]) -> np.ndarray:
    sources = sorted({o.source for o in observations})
    if len(sources) >= MIN_SOURCES:
        return np.array([sources.index(o.source) for o in observations])
    counters = {True: 0, False: 0}  # stratified: dealt in turn within each class
    groups = []
    for o in observations:
        groups.append(counters[o.answerable] % FOLDS)
        counters[o.answerable] += 1
    return np.array(groups)


def _point(scores: np.ndarray, observations: Sequence[Observation], limit: float) -> OperatingPoint:
    return operating_point([float(s) for s in scores], observations, limit)


def _left_out(
    scores: np.ndarray, observations: Sequence[Observation], groups: np.ndarray, limit: float
) -> OperatingPoint:
    """Each group at the threshold picked on the others; pooled figures."""
    correct = false = 0
    for g in np.unique(groups):
        inside = [o for o, k in zip(observations, groups, strict=True) if k != g]
        threshold = _point(scores[groups != g], inside, limit).threshold
        for score, o, k in zip(scores, observations, groups, strict=True):
            if k == g and score >= threshold:
                correct += int(o.answerable and o.top_is_gold)
                false += int(not o.answerable)
    answerable = sum(o.answerable for o in observations)
    unanswerable = len(observations) - answerable
    return OperatingPoint(
        threshold=float("nan"),
        answered_correct=round(correct / answerable, 4) if answerable else 0.0,
        false_answer=round(false / unanswerable, 4) if unanswerable else 0.0,
    )


def pick(
    scores: np.ndarray,
    observations: Sequence[Observation],
    groups: np.ndarray,
    max_false_answer: float,
) -> tuple[float, float, OperatingPoint]:
    """(threshold, limit, left-out figures): the highest limit at or under `max_false_answer`
    whose left-out false answers stay within `max_false_answer`."""
    limit = max_false_answer
    while True:
        left_out = _left_out(scores, observations, groups, limit)
        if left_out.false_answer <= max_false_answer + 1e-9 or limit <= 0:
            break
        limit = max(0.0, round(limit - LIMIT_STEP, 4))
    threshold = _point(scores, observations, limit).threshold
    return (
        threshold,
        limit,
        OperatingPoint(threshold, left_out.answered_correct, left_out.false_answer),
    )


def _features(observations: Sequence[Observation]) -> np.ndarray:
    return np.array([[float(o.signals.get(name, 0.0)) for name in SIGNALS] for o in observations])


def _regression(x: np.ndarray, y: np.ndarray) -> object:
    from sklearn.linear_model import LogisticRegression  # only `kakehashi calibrate` needs it

    return LogisticRegression(C=REGULARISATION_C, max_iter=2000).fit(x, y)


def _model_scores(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray | None:
    """Each group's probabilities from a regression fitted on the other groups (None when a
    group's complement has one class only)."""
    scores = np.zeros(len(y))
    for g in np.unique(groups):
        inside = groups != g
        if y[inside].all() or not y[inside].any():
            return None
        model = _regression(x[inside], y[inside])
        scores[~inside] = model.predict_proba(x[~inside])[:, 1]  # type: ignore[attr-defined]
    return np.round(scores, 4)  # as the retriever rounds it


def fit_languages(
    observations: Sequence[Observation],
    calibration: Calibration,
    max_false_answer: float,
) -> dict[str, LanguageFit]:
    """The threshold of every language with answerable and unanswerable questions, and a
    learned model for those the sentence encoder serves where it beats the curves."""
    by_lang: dict[str, list[Observation]] = {}
    for o in observations:
        by_lang.setdefault(o.lang, []).append(o)
    fits: dict[str, LanguageFit] = {}
    for lang, group in sorted(by_lang.items()):
        answerable = sum(o.answerable for o in group)
        if not answerable or answerable == len(group):
            continue
        groups = _groups(group)
        scores = np.array(curve_scores(group, calibration))
        threshold, limit, curves = pick(scores, group, groups, max_false_answer)
        chosen: tuple[float, float, OperatingPoint, AnswerModel | None] = (
            threshold,
            limit,
            curves,
            None,
        )
        if all("encoder_readable" in o.signals for o in group):
            x = _features(group)
            y = np.array([o.answerable and o.top_is_gold for o in group])
            held = _model_scores(x, y, groups) if y.any() and not y.all() else None
            if held is not None:
                m_threshold, m_limit, learned = pick(held, group, groups, max_false_answer)
                if learned.answered_correct >= curves.answered_correct + MIN_GAIN:
                    fitted = _regression(x, y)
                    learned_model = AnswerModel(
                        lang,
                        tuple(float(w) for w in fitted.coef_[0]),  # type: ignore[attr-defined]
                        float(fitted.intercept_[0]),  # type: ignore[attr-defined]
                    )
                    chosen = (m_threshold, m_limit, learned, learned_model)
        threshold, limit, point, model = chosen
        fits[lang] = LanguageFit(
            lang=lang,
            threshold=threshold,
            limit=limit,
            cross_validated=point,
            curves=curves,
            model=model,
            n_answerable=answerable,
            n_unanswerable=len(group) - answerable,
            groups=len(np.unique(groups)),
        )
    return fits


def describe(fit: LanguageFit) -> str:
    cv, curves = fit.cross_validated, fit.curves
    kind = "learned model" if fit.model is not None else "curves"
    line = (
        f"# {fit.lang}: {kind}, threshold {fit.threshold:.4f} (picked at false_answer <= "
        f"{fit.limit:g}; {fit.n_answerable} answerable, {fit.n_unanswerable} not, "
        f"{fit.groups} sets): each set left out, answered_correct {cv.answered_correct:.3f}, "
        f"false_answer {cv.false_answer:.3f}"
    )
    if fit.model is not None:
        line += (
            f"\n#     the curves, the same way: answered_correct {curves.answered_correct:.3f},"
            f" false_answer {curves.false_answer:.3f}"
        )
    return line
