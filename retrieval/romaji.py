"""Japanese typed in Latin letters (romaji): "taikai shitai", "henpin dekimasu ka".

Customers on a device without a Japanese input method write Japanese in romaji. This
module recognises such text and turns it into hiragana, so the Japanese analyser (and its
reading bigrams) can match it against the articles.
"""

from __future__ import annotations

import re
import unicodedata

_VOWELS = {"a": "あ", "i": "い", "u": "う", "e": "え", "o": "お"}
_ROWS = {
    "k": "かきくけこ",
    "g": "がぎぐげご",
    "s": "さしすせそ",
    "z": "ざじずぜぞ",
    "t": "たちつてと",
    "d": "だぢづでど",
    "n": "なにぬねの",
    "h": "はひふへほ",
    "b": "ばびぶべぼ",
    "p": "ぱぴぷぺぽ",
    "m": "まみむめも",
    "r": "らりるれろ",
}
_SYLLABLES: dict[str, str] = dict(_VOWELS)
for consonant, kana in _ROWS.items():
    for vowel, char in zip("aiueo", kana, strict=True):
        _SYLLABLES[consonant + vowel] = char
_SYLLABLES.update(
    {
        "ya": "や",
        "yu": "ゆ",
        "yo": "よ",
        "wa": "わ",
        "wo": "を",
        "we": "うぇ",
        "wi": "うぃ",
        "shi": "し",
        "chi": "ち",
        "tsu": "つ",
        "fu": "ふ",
        "ji": "じ",
        "si": "し",
        "ti": "ち",
        "tu": "つ",
        "hu": "ふ",
        "zi": "じ",
        "di": "ぢ",
        "du": "づ",
        "fa": "ふぁ",
        "fi": "ふぃ",
        "fe": "ふぇ",
        "fo": "ふぉ",
        "je": "じぇ",
        "che": "ちぇ",
        "she": "しぇ",
        "va": "ゔぁ",
        "vi": "ゔぃ",
        "vu": "ゔ",
        "ve": "ゔぇ",
        "vo": "ゔぉ",
    }
)
for consonant, base in {
    "k": "き",
    "g": "ぎ",
    "n": "に",
    "h": "ひ",
    "b": "び",
    "p": "ぴ",
    "m": "み",
    "r": "り",
}.items():
    for vowel, small in {"a": "ゃ", "u": "ゅ", "o": "ょ"}.items():
        _SYLLABLES[f"{consonant}y{vowel}"] = base + small
for prefix, base in {
    "sh": "し",
    "ch": "ち",
    "j": "じ",
    "sy": "し",
    "cy": "ち",
    "ty": "ち",
    "zy": "じ",
    "jy": "じ",
}.items():
    for vowel, small in {"a": "ゃ", "u": "ゅ", "o": "ょ"}.items():
        _SYLLABLES[prefix + vowel] = base + small
_LONGEST = max(map(len, _SYLLABLES))
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
# Short English words that also spell valid romaji.
_ENGLISH = frozenset(
    "a i to no so go do be he me we she see are one more take make made same name site "
    "time come home hope note nice rate date gate game safe sale case base use due "
    "tea sea pie die tie age mine fine line wine dine done gone none some".split()
)


def to_hiragana(word: str) -> str | None:
    """Hiragana for one romaji word, or None when the word is not romaji."""
    word = unicodedata.normalize("NFKD", word.lower())
    word = "".join(
        c + c if unicodedata.combining(n) else c
        for c, n in zip(word, word[1:] + " ", strict=True)
        if not unicodedata.combining(c)
    )
    out: list[str] = []
    i = 0
    while i < len(word):
        char = word[i]
        if char == "-":
            out.append("ー")
            i += 1
            continue
        if char == "n" and (i + 1 == len(word) or word[i + 1] not in "aiueoy"):
            out.append("ん")
            i += (
                2
                if i + 1 < len(word)
                and word[i + 1] == "n"
                and (i + 2 == len(word) or word[i + 2] not in "aiueoy")
                else 1
            )
            continue
        if i + 1 < len(word) and char == word[i + 1] and char not in "aiueon":
            out.append("っ")  # doubled consonant: small tsu
            i += 1
            continue
        if char == "t" and word[i + 1 : i + 3] == "ch":
            out.append("っ")
            i += 1
            continue
        for length in range(min(_LONGEST, len(word) - i), 0, -1):
            kana = _SYLLABLES.get(word[i : i + length])
            if kana is not None:
                out.append(kana)
                i += length
                break
        else:
            return None
    return "".join(out)


# Spellings common in romaji and rare in English, and Japanese function words: one of them
# must appear before Latin text is taken for Japanese ("made in japan" has none).
_JAPANESE_MARK = re.compile(
    r"shi|chi|tsu|[kgnhbpmr]y[auo]|ou|uu|aa|ii|ei|"
    r"^(?:wa|ga|wo|ni|de|ka|no|desu|masu|kudasai|onegai|dekimasu|shitai|nai|yo|ne)$"
)


def romaji_to_hiragana(text: str, require_marker: bool = True) -> str | None:
    """The whole text in hiragana when it reads as romaji Japanese, else None.

    Every word must be valid romaji, there must be at least two words or one long one,
    they must not all be short English words that happen to spell romaji ("i see"), and
    at least one must look Japanese (a particle, or a spelling such as shi, tsu, ou, kyo)
    unless `require_marker` is False (the caller already knows the text is Japanese).
    """
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
    if not words or re.search(r"[a-z]", _WORD.sub("", text.lower())):
        return None
    if len(words) == 1 and len(words[0]) < 6 or all(w in _ENGLISH for w in words):
        return None
    if require_marker and not any(_JAPANESE_MARK.search(w) for w in words):
        return None
    converted = [to_hiragana(w) for w in words]
    if any(c is None for c in converted):
        return None
    return " ".join(c for c in converted if c)
