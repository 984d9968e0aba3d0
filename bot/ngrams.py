"""Hashed lexical features of a customer's message, read beside the sentence encoder's vector.

The encoder blurs what short requests hinge on: spelling ("agnet"), Japanese particles and
endings (人間の方で, つないで), scripts (ｵﾍﾟﾚｰﾀｰ, おぺれーたー, 担当 / たんとう). These features
keep them, in numpy and the standard library (the heads' weights for them are fitted by
`bot.training`):

- the text in NFKC and lower case (full-width and half-width forms fold), katakana folded
  into hiragana, and Japanese typed in romaji read as hiragana (`retrieval.romaji`);
- character 1-3-grams of that text, and for Japanese of its reading too (Sudachi: 担当者
  and たんとうしゃ meet), with the uni- and bigrams of Latin words;
- for Japanese, a second block: uni- and bigrams of Sudachi's normalised word forms
  (繋いで, つないで -> 繋ぐ).

Each block is L2-normalised and hashed into `NGRAM_FEATURES` buckets with BLAKE2b, so a
term lands in the same bucket in every process and on every machine.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from retrieval.analysis import japanese_morphemes
from retrieval.romaji import romaji_to_hiragana

NGRAM_FEATURES = 8192
# Names what `lexical_terms` produces; a model fitted on other terms is refused.
NGRAM_SCHEME = "nfkc-hiragana-char1-3+reading+sudachi-words+latin-words"
CHARACTER_SIZES = (1, 2, 3)

_JAPANESE = re.compile(r"[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_KATAKANA_WORD = re.compile(r"^[\u30a1-\u30faー]+$")
_LATIN_WORD = re.compile(r"[a-z0-9']+")
_SPACE = re.compile(r"\s+")
_NO_WORD_POS = frozenset({"補助記号", "空白"})  # punctuation and blanks


def to_hiragana(text: str) -> str:
    """Katakana folded into hiragana (ー and other marks kept)."""
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in text)


def normalize(text: str) -> tuple[str, bool]:
    """The text the features are read from, and whether it is Japanese.

    NFKC, lower case, plain quotes, single spaces; romaji read as hiragana ("tantousha ni
    kawatte" -> "たんとうしゃ に かわって"). Katakana is still katakana here (Sudachi reads it).
    """
    norm = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    norm = _SPACE.sub(" ", norm).strip()
    if _JAPANESE.search(norm):
        return norm, True
    kana = romaji_to_hiragana(norm)
    return (kana, True) if kana is not None else (norm, False)


def _characters(text: str, prefix: str = "") -> Iterable[str]:
    padded = f" {text} "
    for n in CHARACTER_SIZES:
        for i in range(len(padded) - n + 1):
            gram = padded[i : i + n]
            if gram != " ":
                yield prefix + gram


def _uni_and_bigrams(words: Sequence[str], prefix: str) -> list[str]:
    if not words:
        return []
    bounded = ["<s>", *words, "</s>"]
    bigrams = [f"{prefix}2:{a} {b}" for a, b in zip(bounded, bounded[1:], strict=False)]
    return [f"{prefix}1:{w}" for w in words] + bigrams


def lexical_terms(text: str) -> tuple[list[str], list[str]]:
    """The terms of a message: (characters and Latin words, Japanese words).

    Examples:
        "ＯＰＥＲＡＴＯＲ please" and "operator please" give the same terms; so do
        "ｵﾍﾟﾚｰﾀｰ" and "オペレーター"; 「担当者に代わって」 has the reading grams of
        "たんとうしゃにかわって" that "tantousha ni kawatte" has.
    """
    norm, japanese = normalize(text)
    if not norm:
        return [], []
    surface = to_hiragana(norm)
    terms = list(_characters(surface))
    terms += _uni_and_bigrams(_LATIN_WORD.findall(surface), "w")
    words: list[str] = []
    if japanese:
        morphemes = japanese_morphemes(norm.replace(" ", ""))
        reading = "".join(
            r if _KATAKANA_WORD.match(r) else s for s, _, r, _ in morphemes
        )  # symbols, digits and Latin words read as themselves
        terms += _characters(to_hiragana(reading), "r")
        words = _uni_and_bigrams([f for _, f, _, pos in morphemes if pos not in _NO_WORD_POS], "j")
    return terms, words


@lru_cache(maxsize=1 << 16)  # character grams repeat from message to message
def _bucket(term: str, features: int) -> int:
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little") % features


def _add_block(out: np.ndarray, terms: Sequence[str], features: int) -> None:
    if not terms:
        return
    counts = np.bincount([_bucket(t, features) for t in terms], minlength=features)
    out += (counts / np.linalg.norm(counts)).astype(np.float32)


def ngram_vector(text: str, features: int = NGRAM_FEATURES) -> np.ndarray:
    """The hashed lexical features of one message: a (features,) float32 vector, the sum of
    two unit-length blocks (characters and Latin words; Japanese words)."""
    out = np.zeros(features, dtype=np.float32)
    if features <= 0:
        return out
    characters, words = lexical_terms(text)
    _add_block(out, characters, features)
    _add_block(out, words, features)
    return out


def ngram_matrix(texts: Sequence[str], features: int = NGRAM_FEATURES) -> np.ndarray:
    """`ngram_vector` of each text, as a (len(texts), features) float32 array."""
    if not texts:
        return np.zeros((0, features), dtype=np.float32)
    return np.stack([ngram_vector(t, features) for t in texts])
