"""A learned answer confidence: per language, a logistic regression over the search's signals.

The confidence curves (`retrieval.fusion.confidence`) average one hand-shaped curve per
signal. For Japanese that leaves the best evidence unused: whether the sentence encoder
prefers the top article clearly over the next ones (`encoder_margin`), and whether it could
read the question at all (kana typed without conversion, romaji: `encoder_readable` 0).
`kakehashi calibrate` fits these weights on labelled questions, for the languages where they
beat the curves across sets of writers the fit never saw, and writes them (`--out FILE`) as:

    {"format": 1, "signals": [...], "languages": {"ja": {"weights": [...], "intercept": ...,
     "threshold": ..., "cross_validated": {...}}}, "data_hash": "..."}

A language without a model keeps the curves. The server reads the file once at start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1
# the signals `HybridRetriever` reports for the top article (`RetrievalResult.signals`)
SIGNALS = (
    "article_coverage",  # share of the question's idf mass in the whole article
    "coverage",  # ... in its best section
    "encoder_similarity",  # the sentence encoder's cosine of question and best section
    "encoder_margin",  # that, minus the best of the next two articles'
    # the top article's fused z-score over its largest possible, sqrt(articles - 1): how far
    # it stands out, on one scale for a knowledge base of any size (the raw z-score grows
    # with the number of articles)
    "top_share",
    "encoder_readable",  # 1 when the encoder could read the question, else 0
)
SHIPPED_MODEL = Path(__file__).resolve().parent / "models" / "answer.json"


class AnswerModelError(ValueError):
    """The answer-model file cannot be used; the message says why."""


@dataclass(frozen=True)
class AnswerModel:
    """P(the top article answers the question) for one language."""

    lang: str
    weights: tuple[float, ...]  # one per `SIGNALS`
    intercept: float

    def probability(self, signals: Mapping[str, float]) -> float:
        z = self.intercept + sum(
            w * float(signals.get(name, 0.0)) for name, w in zip(SIGNALS, self.weights, strict=True)
        )
        if z < -60:  # exp overflows far below any threshold
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


def to_json(
    models: Sequence[AnswerModel], data_hash: str, extra: Mapping[str, Mapping[str, Any]]
) -> str:
    """The file's text; `extra` adds per-language facts (threshold, cross-validated figures)."""
    languages = {
        m.lang: {
            "weights": [round(w, 6) for w in m.weights],
            "intercept": round(m.intercept, 6),
            **extra.get(m.lang, {}),
        }
        for m in models
    }
    body = {"format": FORMAT, "signals": list(SIGNALS), "languages": languages}
    return json.dumps({**body, "data_hash": data_hash}, ensure_ascii=False, indent=1) + "\n"


def load(path: Path) -> dict[str, AnswerModel]:
    """The models in a file, by language.

    Raises:
        AnswerModelError: the file is missing, not JSON, or not an answer model of this
            format and these signals.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnswerModelError(f"{path}: no such answer-model file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnswerModelError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise AnswerModelError(f"{path}: not an answer model of format {FORMAT}")
    if raw.get("signals") != list(SIGNALS):
        raise AnswerModelError(
            f"{path}: fitted on signals {raw.get('signals')!r}, this version reports "
            f"{list(SIGNALS)!r}: run `kakehashi calibrate` again"
        )
    models: dict[str, AnswerModel] = {}
    languages = raw.get("languages")
    if not isinstance(languages, dict):
        raise AnswerModelError(f"{path}: 'languages' must be an object")
    for lang, spec in languages.items():
        try:
            weights = tuple(float(w) for w in spec["weights"])
            intercept = float(spec["intercept"])
        except (KeyError, TypeError, ValueError):
            raise AnswerModelError(f"{path}: {lang}: needs 'weights' and 'intercept'") from None
        if len(weights) != len(SIGNALS) or not all(map(math.isfinite, (*weights, intercept))):
            raise AnswerModelError(
                f"{path}: {lang}: needs {len(SIGNALS)} finite weights and a finite intercept"
            )
        models[lang] = AnswerModel(lang, weights, intercept)
    return models
