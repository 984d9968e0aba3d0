"""How frustrated a customer sounds, from the message and the conversation so far.

Each signal (abusive words, shouting, complaint phrases, asking the same thing again,
thumbs-down in a row…) contributes a value in [0, 1]; they combine as independent pieces
of evidence, `1 - Π(1 - c)`, so one strong signal or two moderate ones reach the default
threshold while a single mild one ("??", one 👎, "disappointed") does not. Words such as
"problem", "wrong", "broken", 壊れた, 間違い, 問題 are not signals at all: customers use them
calmly in ordinary requests.

English rules read the NFKC, lower-cased text; Japanese rules read it with white space
removed. Both are tried whatever `lang` says, because customers mix scripts.
The phrase lists, patterns and their weights live in `bot._frustration_lexicon`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot._frustration_lexicon import (
    ACRONYMS,
    EN_ABUSIVE,
    EN_COMPLAINT,
    EN_NEGATIVE,
    EN_NOT_HELPED,
    EN_SARCASM,
    EN_THREAT,
    FULLWIDTH_UPPER_RUN,
    HAPPY,
    JA_ABUSIVE,
    JA_COMPLAINT,
    JA_NEGATIVE,
    JA_NOT_HELPED,
    JA_POLITE_COMPLAINT,
    JA_SARCASM,
    JA_THREAT,
    LATIN_WORD,
    MILD,
    PUNCTUATION,
    STRONG,
    URGENCY,
    Rules,
)

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ConversationSignals:
    """What the conversation so far says about the customer's patience."""

    previous_customer_texts: tuple[str, ...] = ()  # earlier customer messages, oldest first
    consecutive_unhelpful: int = 0  # bot answers in a row the customer marked 👎 (latest ones)
    consecutive_misses: int = 0  # bot replies in a row that could not answer (decline)

    @property
    def last_reply_failed(self) -> bool:
        """The bot's latest replies did not help: a 👎 on them, or declines."""
        return self.consecutive_unhelpful > 0 or self.consecutive_misses > 0


@dataclass(frozen=True)
class FrustrationScore:
    """A frustration score in [0, 1] and the named signals it was made from."""

    score: float
    signals: dict[str, float] = field(default_factory=dict)

    def exceeds(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        """Whether the score reaches `threshold` (at or above it)."""
        return self.score >= threshold


def _strongest(rules: Rules, text: str) -> float:
    """The strongest matching rule: overlapping phrasings of one signal do not add up."""
    return max((weight for pattern, weight in rules if pattern.search(text)), default=0.0)


def _accumulated(rules: Rules, text: str) -> float:
    """Every matching rule adds evidence (1 - Π(1 - w)): "still no refund, 3 weeks now"."""
    remaining = 1.0
    for pattern, weight in rules:
        if pattern.search(text):
            remaining *= 1.0 - weight
    return 1.0 - remaining


def _shouting(raw: str) -> float:
    """Capitals in Latin text: a shouted message, or emphatic shouted words in a calm one."""
    words = [w for w in LATIN_WORD.findall(raw) if w.lower() not in ACRONYMS]
    letters = "".join(words)
    if (
        len(letters) >= 5
        and len(words) >= 2
        and sum(map(str.isupper, letters)) >= 0.6 * len(letters)
    ):
        # "THANK YOU SO MUCH" and "I LOVE IT" are loud but happy
        return MILD if HAPPY.search(raw.lower()) else STRONG
    if len(letters) >= 8 and any(len(w) >= 3 and w.isupper() for w in words):
        return 0.35  # "I want my money back NOW"
    if FULLWIDTH_UPPER_RUN.search(raw):
        return 0.35  # full-width capitals for emphasis in Japanese text: ＺＥＮＺＥＮ
    return 0.0


def _repeated_punctuation(norm: str) -> float:
    """ "!!", "??", "!?" (full-width ones are folded by NFKC); three or more count a bit more."""
    found = PUNCTUATION.findall(norm)
    if not found:
        return 0.0
    return 0.3 if max(map(len, found)) >= 3 or len(found) >= 2 else MILD


def _bigrams(text: str) -> set[str]:
    compact = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def similarity(a: str, b: str) -> float:
    """Character-bigram Jaccard similarity of two messages (works for both languages)."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def _contained(text: str, earlier: str) -> float:
    """The share of the earlier message's bigrams the new one repeats."""
    x, y = _bigrams(text), _bigrams(earlier)
    return len(x & y) / len(y) if x and y else 0.0


def _repeated_question(text: str, norm: str, conversation: ConversationSignals) -> float:
    """Asking the same thing again, when the earlier reply did not help.

    A customer who re-reads a correct answer and asks again, politely, is not frustrated:
    repetition counts only after a 👎, a decline, or the customer saying the reply did not
    help ("that's not what I asked", 「答えになっていません」).
    """
    said_so = _said_not_helped(norm)
    if not (conversation.last_reply_failed or said_so):
        return 0.0
    if len(_bigrams(text)) < 5:  # "ok", "yes", "はい" repeat naturally
        return 0.0
    # "that's not what I asked: where is my order?" holds the earlier question in full
    measure = _contained if said_so else similarity
    repeats = [
        s for s in (measure(text, p) for p in conversation.previous_customer_texts) if s >= 0.5
    ]
    if not repeats:
        return 0.0
    value = 0.45 + 0.25 * (max(repeats) - 0.5) / 0.5  # 0.45 when half the same, 0.7 identical
    return max(value, 0.7) if len(repeats) >= 2 else value  # asking a third time


def _said_not_helped(norm: str) -> bool:
    compact = re.sub(r"\s+", "", norm)
    return bool(EN_NOT_HELPED.search(norm) or JA_NOT_HELPED.search(compact))


def _unhelpful(count: int) -> float:
    """Answers marked 👎 in a row: one is a hint, two or more a strong signal."""
    return 0.0 if count <= 0 else MILD if count == 1 else STRONG if count == 2 else 0.75


def _misses(count: int) -> float:
    """Replies in a row that could not answer."""
    return 0.0 if count <= 0 else 0.15 if count == 1 else 0.35 if count == 2 else 0.5


def score_frustration(
    text: str,
    lang: str,
    conversation: ConversationSignals = ConversationSignals(),
    learned: float | None = None,
) -> FrustrationScore:
    """How frustrated the customer sounds, with the signals that say so.

    Args:
        text: The customer's latest message.
        lang: Its language ("en", "ja"); a hint only, both languages' signals are read.
        conversation: What happened earlier in the conversation.
        learned: The learned head's verdict on the wording, on this score's scale (0.5 at
            its threshold; see `bot.intent_model.frustration_signal`); None without one.

    Returns:
        A score in [0, 1] (compare with `DEFAULT_THRESHOLD` through `exceeds`) and the
        non-zero contributions by name.
    """
    del lang
    norm = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    compact = re.sub(r"\s+", "", norm)
    candidates = {
        "abusive": max(_strongest(EN_ABUSIVE, norm), _strongest(JA_ABUSIVE, compact)),
        "negative": max(_strongest(EN_NEGATIVE, norm), _strongest(JA_NEGATIVE, compact)),
        "complaint": max(_accumulated(EN_COMPLAINT, norm), _accumulated(JA_COMPLAINT, compact)),
        "polite_complaint": _strongest(JA_POLITE_COMPLAINT, compact),
        "threat": max(_strongest(EN_THREAT, norm), _strongest(JA_THREAT, compact)),
        "sarcasm": max(_strongest(EN_SARCASM, norm), _strongest(JA_SARCASM, compact)),
        "urgency": _accumulated(URGENCY, norm),
        "shouting": _shouting(text),
        "repeated_punctuation": _repeated_punctuation(norm),
        "repeated_question": _repeated_question(text, norm, conversation),
        "unhelpful_answers": _unhelpful(conversation.consecutive_unhelpful),
        "consecutive_misses": _misses(conversation.consecutive_misses),
        # below 0.1 the head is sure it is calm: no evidence, and no noise in the signals
        "learned": learned if learned is not None and learned >= 0.1 else 0.0,
    }
    signals = {name: round(value, 4) for name, value in candidates.items() if value > 0}
    remaining = 1.0
    for value in signals.values():
        remaining *= 1.0 - value
    return FrustrationScore(score=round(min(max(1.0 - remaining, 0.0), 1.0), 4), signals=signals)
