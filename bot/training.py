"""Fits the learned intent heads (`bot.intent_model`) on labelled messages.

Used by `kakehashi train`; needs scikit-learn (installed with sentence-transformers), which
the bot itself never imports at run time. What each head learns from:

- handoff: `handoff` true (positive) or false; ordinary questions (cases with `gold`) and
  small-talk messages are negatives too.
- frustration: `frustrated` true or false; ordinary questions are calm (negatives).
- smalltalk: `smalltalk` greeting / thanks / goodbye / null; questions, requests for a
  person and complaints are "none".

The decision threshold of each head is picked per language from out-of-fold probabilities
(stratified k-fold, repeated with `REPEATS` shuffles and pooled), on the head's own
verdicts; the figures of the decision the bot really makes (rules first, the head second)
are reported beside. So the figures in the model's `training` block are never measured on
the cases a head was fitted on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.frustration import score_frustration
from bot.intent_model import (
    FRUSTRATION,
    HANDOFF,
    NOT_SMALLTALK,
    SMALLTALK,
    Head,
    IntentModel,
    LabelledExample,
    encoder_text,
    features,
    frustration_signal,
    frustration_vetoed,
    handoff_vetoed,
)
from bot.intents import is_handoff_request, smalltalk
from bot.ngrams import NGRAM_FEATURES
from eval.cases import Case
from retrieval.sentence_encoder import SentenceEncoder

FOLDS = 5
# The k-fold split is repeated with this many shuffles and the thresholds are picked on all
# of their out-of-fold verdicts pooled: one split's few false alarms moved the threshold
# that keeps precision at the floor by up to 0.2 from shuffle to shuffle.
REPEATS = 3
REGULARISATION_C = 32.0
# How much the lexical features count beside the encoder's vector while fitting (the weights
# are scaled back, so the model reads them as `bot.ngrams` makes them). Asking for a person
# leans on a few words the encoder blurs in Japanese (人間の方で, 担当の人, ゆうじんちゃっと):
# out of fold, twice the weight raised the Japanese head's recall at the same precision;
# for frustration and small talk it did not.
NGRAM_SCALE = {HANDOFF: 2.0, FRUSTRATION: 1.0, SMALLTALK: 1.0}
# A false "asked for a person" hands an ordinary question to the queue; a false small talk
# swallows a question: both heads keep out-of-fold precision at or above these.
HANDOFF_PRECISION = 0.975
SMALLTALK_PRECISION = 0.98
# A false frustration hands a calm customer over with an apology.
FRUSTRATION_PRECISION = 0.95
MIN_THRESHOLD = 0.2
MAX_THRESHOLD = 0.95


class TrainingError(ValueError):
    """The labelled messages cannot support a fit (the message says what is missing)."""


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    label: str


def data_hash(cases: Sequence[Case]) -> str:
    """A hash of the labelled content (order-independent), stored beside the weights."""
    lines = sorted(
        f"{c.lang}\t{c.text}\t{c.gold}\t{c.handoff}\t{c.frustrated}\t{c.smalltalk}" for c in cases
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def examples(cases: Sequence[Case], head: str) -> list[Example]:
    """The labelled examples one head learns from (see the module docstring)."""
    out: list[Example] = []
    for c in cases:
        lang = c.lang or "en"
        if head == HANDOFF:
            if c.handoff is not None:
                out.append(Example(c.text, lang, "yes" if c.handoff else "no"))
            elif c.gold is not None or c.smalltalk is not None:
                out.append(Example(c.text, lang, "no"))
        elif head == FRUSTRATION:
            if c.frustrated is not None:
                out.append(Example(c.text, lang, "yes" if c.frustrated else "no"))
            elif c.gold is not None:
                out.append(Example(c.text, lang, "no"))
        elif head == SMALLTALK:
            if c.smalltalk is not None:
                out.append(Example(c.text, lang, c.smalltalk))
            elif c.gold is not None or c.handoff or c.frustrated:
                out.append(Example(c.text, lang, NOT_SMALLTALK))
    return out


def _labelled_for(case: Case, head: str) -> bool:
    """Whether a case carries its own label for a head (not an ordinary question taken as
    a negative): only those are shown to agents as examples."""
    label = {HANDOFF: case.handoff, FRUSTRATION: case.frustrated, SMALLTALK: case.smalltalk}
    return label[head] is not None


def _fit(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=REGULARISATION_C, max_iter=3000)
    model.fit(x, y)
    return model


def _out_of_fold(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold class probabilities (columns in sorted label order), one k-fold split."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.unique(y)
    folds = min(FOLDS, int(min(np.sum(y == label) for label in labels)))
    if folds < 2:
        raise TrainingError("each label needs at least two examples for cross-validation")
    probs = np.zeros((len(y), len(labels)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = _fit(x[train], y[train], seed)
        columns = [int(np.flatnonzero(labels == c)[0]) for c in model.classes_]
        probs[np.ix_(test, columns)] = model.predict_proba(x[test])
    return probs


def _head(model: Any, thresholds: dict[str, float], dimensions: int, scale: float) -> Head:
    """The fitted regression as a head over unscaled features (`scale`: the weight the
    lexical features after the first `dimensions` columns were fitted with)."""
    weights = model.coef_.astype(np.float32)
    weights[:, dimensions:] *= scale
    classes = [str(c) for c in model.classes_]
    labels = ("yes",) if classes == ["no", "yes"] else tuple(classes)
    return Head(labels, weights, model.intercept_, thresholds)


def _metrics(predicted: Sequence[bool], actual: Sequence[bool]) -> dict[str, float]:
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _candidate_thresholds() -> np.ndarray:
    return np.round(np.arange(MIN_THRESHOLD, MAX_THRESHOLD + 1e-9, 0.01), 2)


def _pick(
    scores: np.ndarray,
    actual: np.ndarray,
    decide: Callable[[np.ndarray, float], np.ndarray],
    min_precision: float | None,
) -> tuple[float, dict[str, float]]:
    """The threshold with the best recall at `min_precision` (or the best F1 without one)."""
    best: tuple[tuple[float, float], float, dict[str, float]] | None = None
    for t in _candidate_thresholds():
        predicted = decide(scores, float(t))
        m = _metrics(list(predicted), list(actual))
        if min_precision is not None:
            if m["precision"] < min_precision:
                continue
            key = (m["recall"], float(t))  # ties: the higher, safer threshold
        else:
            key = (m["f1"], -float(t))
        if best is None or key > best[0]:
            best = (key, float(t), m)
    if best is None:  # the precision is out of reach: the safest threshold
        t = MAX_THRESHOLD
        return t, _metrics(list(decide(scores, t)), list(actual))
    return best[1], best[2]


def fit_intents(
    cases: Sequence[Case],
    encoder: SentenceEncoder,
    seed: int = 0,
    ngram_features: int = NGRAM_FEATURES,
) -> IntentModel:
    """Fit every head that has labelled data; thresholds and figures from k-fold CV.

    Raises:
        TrainingError: no head has both positive and negative examples.
    """
    labelled = {
        (c.text, c.lang or "en", name)
        for c in cases
        for name in (HANDOFF, FRUSTRATION, SMALLTALK)
        if _labelled_for(c, name)
    }
    heads: dict[str, Head] = {}
    report: dict[str, Any] = {
        "folds": FOLDS,
        "repeats": REPEATS,
        "c": REGULARISATION_C,
        "seed": seed,
    }
    cache: dict[str, np.ndarray] = {}

    def encode(texts: list[str]) -> np.ndarray:
        texts = [encoder_text(t) for t in texts]
        missing = sorted({t for t in texts if t not in cache})
        for i in range(0, len(missing), 64):
            batch = missing[i : i + 64]
            for text, vec in zip(batch, encoder.encode(batch), strict=True):
                cache[text] = vec
        return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, encoder.dimensions))

    for name in (HANDOFF, FRUSTRATION, SMALLTALK):
        data = examples(cases, name)
        labels = np.array([e.label for e in data])
        if len(set(labels.tolist())) < 2:
            continue
        texts = [e.text for e in data]
        x = features(encode(texts), texts, ngram_features)
        x[:, encoder.dimensions :] *= NGRAM_SCALE[name]
        # every example REPEATS times, each time scored by a model that never saw it
        oof = np.vstack([_out_of_fold(x, labels, seed + r) for r in range(REPEATS)])
        pooled = data * REPEATS
        pooled_labels = np.tile(labels, REPEATS)
        classes = sorted(set(labels.tolist()))
        thresholds: dict[str, float] = {}
        figures: dict[str, Any] = {"n": len(data)}
        for lang in sorted({e.lang for e in data}) + ["*"]:
            rows = np.array([lang in ("*", e.lang) for e in pooled])
            sub = [e for e, keep in zip(pooled, rows, strict=True) if keep]
            t, m = _choose(name, sub, oof[rows], classes, pooled_labels[rows])
            thresholds[lang] = t
            figures[lang] = {"threshold": t, "n": len(sub) // REPEATS, **m}
        heads[name] = _head(
            _fit(x, labels, seed), thresholds, encoder.dimensions, NGRAM_SCALE[name]
        )
        report[name] = {**figures, "ngram_scale": NGRAM_SCALE[name]}
    if not heads:
        raise TrainingError(
            "no intent has both kinds of labelled messages (handoff true and false, "
            "frustrated true and false, or smalltalk labels and ordinary questions)"
        )
    shown = tuple(
        LabelledExample(e.text, e.lang, name, e.label)
        for name in sorted(heads)
        for e in examples(cases, name)
        if (e.text, e.lang, name) in labelled
    )
    return IntentModel(
        encoder=encoder.name,
        dimensions=encoder.dimensions,
        data_hash=data_hash(cases),
        heads=heads,
        ngram_features=ngram_features,
        training=report,
        examples=shown,
    )


def _choose(
    name: str,
    data: list[Example],
    oof: np.ndarray,
    classes: list[str],
    labels: np.ndarray,
) -> tuple[float, dict[str, Any]]:
    """The threshold for one head and language, picked on the head's own verdicts.

    Not on the bot's whole decision (rules first): the rules were written from these very
    sets and get nearly all of them right, which would tell nothing about the wordings the
    head is there to catch. The figures of the whole decision are reported beside.
    """
    if name == SMALLTALK:
        none = classes.index(NOT_SMALLTALK)
        p = 1.0 - oof[:, none]
        actual = labels != NOT_SMALLTALK
        rules = np.array([smalltalk(e.text, e.lang) is not None for e in data])
        t, alone = _pick(p, actual, lambda s, t: s >= t, SMALLTALK_PRECISION)
        combined = _metrics(list(rules | (p >= t)), list(actual))
    elif name == HANDOFF:
        p = oof[:, classes.index("yes")]
        actual = labels == "yes"
        rules = np.array([is_handoff_request(e.text, e.lang) for e in data])
        vetoed = np.array([handoff_vetoed(e.text, e.lang) for e in data])
        t, alone = _pick(p, actual, lambda s, t: (s >= t) & ~vetoed, HANDOFF_PRECISION)
        p = np.where(vetoed, 0.0, p)
        combined = _metrics(list(rules | (p >= t)), list(actual))
    else:
        p = oof[:, classes.index("yes")]
        actual = labels == "yes"
        t, alone = _pick(p, actual, lambda s, t: s >= t, FRUSTRATION_PRECISION)
        rule_scores = np.array([score_frustration(e.text, e.lang).score for e in data])
        vetoed = np.array([frustration_vetoed(e.text, e.lang) for e in data])
        learned = np.array([frustration_signal(float(v), t) for v in np.where(vetoed, 0.0, p)])
        combined = _metrics(list(1 - (1 - rule_scores) * (1 - learned) >= 0.5), list(actual))
    return t, {**alone, "with_rules": combined}
