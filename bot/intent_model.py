"""Learned intents: asking for a person, frustration and small talk, over a sentence encoder.

Each intent is a logistic regression over the multilingual sentence encoder's vector of the
message (`retrieval.sentence_encoder`) and hashed lexical features of it (`bot.ngrams`:
character 1-3-grams of the text and of its Japanese reading, words; what the encoder blurs:
"agnet", "ｵﾍﾟﾚｰﾀｰ", "tantousha", particles), fitted by `kakehashi train` (`bot.training`) on
labelled JSON Lines and shipped in `bot/models/intents.json` with the encoder's name, the
lexical scheme, a hash of the training data and a decision threshold per language.
Inference is a dot product in numpy. The rules in `bot.intents` and `bot.frustration` stay
the exact first pass; these heads catch the wordings the rules never saw ("wanna contact
somebody").
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.intents import asks_about_hours, is_handoff_request, smalltalk
from bot.ngrams import NGRAM_SCHEME, ngram_matrix
from retrieval.romaji import romaji_to_hiragana
from retrieval.sentence_encoder import SentenceEncoder, default_encoder

SHIPPED_MODEL = Path(__file__).resolve().parent / "models" / "intents.json"
# 2: the lexical features of `bot.ngrams` (format 1 read character 2-4-grams only)
FORMAT_VERSION = 2
HANDOFF = "handoff"
FRUSTRATION = "frustration"
SMALLTALK = "smalltalk"
NOT_SMALLTALK = "none"


def features(vectors: np.ndarray, texts: list[str], ngram_features: int) -> np.ndarray:
    """What the heads read: the encoder's vectors, then the hashed lexical features (when
    used, `bot.ngrams`)."""
    if not ngram_features:
        return vectors
    return np.hstack([vectors, ngram_matrix(texts, ngram_features)])


_JAPANESE = re.compile(r"[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def encoder_text(text: str) -> str:
    """What the encoder reads: Japanese typed in romaji is read as kana ("denwa de
    hanashitai" -> "でんわ で はなしたい"), which the encoder knows far better."""
    if _JAPANESE.search(text):
        return text
    return romaji_to_hiragana(text) or text


def handoff_vetoed(text: str, lang: str) -> bool:
    """Where the learned handoff head is not trusted: questions about hours ("can I chat
    with staff on weekends?") and pure small talk ("お世話になります")."""
    return asks_about_hours(text) or smalltalk(text, lang) is not None


def frustration_vetoed(text: str, lang: str) -> bool:
    """Where the learned frustration head is not trusted: requests for a person in so many
    words (`bot.intents`). Its training messages hold none, so its verdict on them is a guess
    from stray letters ("a real person" shares grams with "really"); the customer is handed
    over either way, and the rules' signals (words, shouting, the conversation) still tell
    whether to apologise."""
    return is_handoff_request(text, lang)


class IntentModelError(ValueError):
    """A model file cannot be used with this encoder; the message says what to do."""


@dataclass(frozen=True)
class Head:
    """One logistic-regression head: binary (one label) or multinomial (several)."""

    labels: tuple[str, ...]
    weights: np.ndarray  # (len(labels), dimensions) for multinomial, (1, dimensions) binary
    bias: np.ndarray
    thresholds: Mapping[str, float]  # per language, "*" for the others

    def threshold(self, lang: str) -> float:
        return float(self.thresholds.get(lang, self.thresholds.get("*", 0.5)))

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """Binary: (n,) probability of the label; multinomial: (n, labels) softmax."""
        logits = vectors @ self.weights.T + self.bias
        if len(self.labels) == 1:
            return np.asarray(1.0 / (1.0 + np.exp(-logits[:, 0])))
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "weights": [[round(float(w), 6) for w in row] for row in self.weights],
            "bias": [round(float(b), 6) for b in self.bias],
            "thresholds": {k: round(float(v), 4) for k, v in sorted(self.thresholds.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Head:
        return cls(
            labels=tuple(data["labels"]),
            weights=np.asarray(data["weights"], dtype=np.float32),
            bias=np.asarray(data["bias"], dtype=np.float32),
            thresholds=dict(data["thresholds"]),
        )


@dataclass(frozen=True)
class Judgement:
    """What the learned heads make of one message (probabilities in [0, 1])."""

    handoff: float | None = None
    frustration: float | None = None  # on the frustration score's scale (`frustration_signal`)
    smalltalk: str | None = None  # the most likely kind when it clears its threshold
    smalltalk_probability: float | None = None
    asked_for_person: bool = False  # handoff >= the handoff head's threshold
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    def scores(self) -> dict[str, float]:
        """The probabilities by name, for the decision's explanation."""
        named = {
            "handoff": self.handoff,
            "frustration": self.frustration,
            "smalltalk": self.smalltalk_probability,
        }
        return {k: round(v, 4) for k, v in named.items() if v is not None}


@dataclass(frozen=True)
class LabelledExample:
    """A labelled message the heads were fitted on, shown to agents as the reason."""

    text: str
    lang: str
    intent: str  # "handoff", "frustration" or "smalltalk"
    label: str  # "yes" / "no", or the small-talk kind ("none": not small talk)


@dataclass(frozen=True)
class NearExample:
    example: LabelledExample
    similarity: float


@dataclass(frozen=True)
class IntentModel:
    """The fitted heads and what they were fitted with."""

    encoder: str
    dimensions: int
    data_hash: str
    heads: Mapping[str, Head]
    ngram_features: int = 0  # hashed lexical features after the encoder's (0: none)
    training: Mapping[str, Any] = field(default_factory=dict)  # counts and CV figures
    examples: tuple[LabelledExample, ...] = ()
    ngram_scheme: str = NGRAM_SCHEME

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "encoder": self.encoder,
            "dimensions": self.dimensions,
            "ngram_features": self.ngram_features,
            "ngram_scheme": self.ngram_scheme,
            "data_hash": self.data_hash,
            "training": dict(self.training),
            "heads": {name: head.to_dict() for name, head in sorted(self.heads.items())},
            "examples": [[e.text, e.lang, e.intent, e.label] for e in self.examples],
        }

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        path.write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> IntentModel:
        """Read a model file written by `save` (raises IntentModelError when unusable)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise IntentModelError(
                f"{path}: cannot read the intent model ({exc}); run `kakehashi train` to refit"
            ) from None
        if data.get("format") != FORMAT_VERSION:
            raise IntentModelError(
                f"{path}: intent model format {data.get('format')!r}, expected "
                f"{FORMAT_VERSION}; run `kakehashi train` to refit"
            )
        model = cls(
            encoder=data["encoder"],
            dimensions=int(data["dimensions"]),
            data_hash=data["data_hash"],
            heads={name: Head.from_dict(h) for name, h in data["heads"].items()},
            ngram_features=int(data.get("ngram_features", 0)),
            training=data.get("training", {}),
            examples=tuple(LabelledExample(*row) for row in data.get("examples", [])),
            ngram_scheme=data.get("ngram_scheme", ""),
        )
        if model.ngram_features and model.ngram_scheme != NGRAM_SCHEME:
            raise IntentModelError(
                f"{path}: the intent model reads lexical features {model.ngram_scheme!r}, "
                f"this version makes {NGRAM_SCHEME!r}; run `kakehashi train` to refit"
            )
        width = model.dimensions + model.ngram_features
        for name, head in model.heads.items():
            if head.weights.shape[1] != width:
                raise IntentModelError(
                    f"{path}: head {name!r} has {head.weights.shape[1]} weights a label, "
                    f"expected {width} ({model.dimensions} + {model.ngram_features}); "
                    "run `kakehashi train` to refit"
                )
        return model


class IntentClassifier:
    """Encodes a message once and runs every head on the vector."""

    def __init__(self, model: IntentModel, encoder: SentenceEncoder) -> None:
        if model.encoder != encoder.name or model.dimensions != encoder.dimensions:
            raise IntentModelError(
                f"the intent model was fitted over {model.encoder!r} ({model.dimensions} "
                f"dimensions) but the encoder is {encoder.name!r} ({encoder.dimensions}); "
                "run `kakehashi train` to refit"
            )
        self.model = model
        self.encoder = encoder
        self._example_vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def nearest_examples(
        self, text: str, k: int = 3, intent: str | None = None
    ) -> list[NearExample]:
        """The labelled messages most like `text` (for the agent: why the bot decided).

        Args:
            text: The customer's message.
            k: How many.
            intent: Only examples labelled for this intent ("handoff", "frustration",
                "smalltalk"); all by default.
        """
        examples = self.model.examples
        if not examples or k <= 0:
            return []
        with self._lock:  # encoded once, on first use (~1 s for the shipped examples)
            if self._example_vectors is None:
                self._example_vectors = self.encoder.encode(
                    [encoder_text(e.text) for e in examples]
                )
            vectors = self._example_vectors
        similarities = vectors @ self.encoder.encode_one(encoder_text(text))
        order = np.argsort(-similarities, kind="stable")
        chosen = [i for i in order if intent is None or examples[i].intent == intent][:k]
        return [NearExample(examples[i], round(float(similarities[i]), 4)) for i in chosen]

    def prefetch(self, text: str) -> Future[np.ndarray] | None:
        """Start encoding `text` for a `judge` that will follow; returns at once, with the
        vector on its way (None: remembered already)."""
        return self.encoder.prefetch(encoder_text(text))

    def judge(self, text: str, lang: str, vector: np.ndarray | None = None) -> Judgement:
        """Every head's verdict on one message (`vector`: its encoding, when already made)."""
        vec = self.encoder.encode_one(encoder_text(text)) if vector is None else vector
        row = features(vec[None, :], [text], self.model.ngram_features)
        heads = self.model.heads
        handoff = frustration = chat_p = None
        chat: str | None = None
        asked = False
        if HANDOFF in heads:
            handoff = float(heads[HANDOFF].probabilities(row)[0])
            asked = handoff >= heads[HANDOFF].threshold(lang) and not handoff_vetoed(text, lang)
        if FRUSTRATION in heads and not frustration_vetoed(text, lang):
            head = heads[FRUSTRATION]
            frustration = frustration_signal(
                float(head.probabilities(row)[0]), head.threshold(lang)
            )
        if SMALLTALK in heads:
            head = heads[SMALLTALK]
            probs = head.probabilities(row)[0]
            none = head.labels.index(NOT_SMALLTALK)
            chat_p = float(1.0 - probs[none])
            kinds = [i for i in range(len(head.labels)) if i != none]
            best = max(kinds, key=lambda i: float(probs[i]))
            chat = head.labels[best] if chat_p >= head.threshold(lang) else None
        return Judgement(
            handoff=handoff,
            frustration=frustration,
            smalltalk=chat,
            smalltalk_probability=chat_p,
            asked_for_person=asked,
            vector=vec,
        )


def frustration_signal(probability: float, threshold: float) -> float:
    """The head's probability on the frustration score's scale: 0.5 at its threshold.

    Piecewise linear, so the learned signal alone reaches the frustration threshold exactly
    where the head was tuned to, and adds up with the rules' signals like any other.
    """
    if probability < threshold:
        return 0.5 * probability / threshold
    return 0.5 + 0.5 * (probability - threshold) / max(1.0 - threshold, 1e-9)


@cache
def default_classifier() -> IntentClassifier:
    """The shipped model over the packaged encoder, loaded once per process."""
    return IntentClassifier(IntentModel.load(SHIPPED_MODEL), default_encoder())
