"""Per-message language detection by script, for the languages a knowledge base has.

Statistical detectors guess badly on chat-length text ("返金いつ", "ok thx"); the script a
message is written in is a far stronger signal for the languages Kakehashi serves.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Collection

from retrieval.romaji import romaji_to_hiragana


def _script(char: str) -> str | None:
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "kana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if char.isalpha() and unicodedata.name(char, "").startswith(("LATIN", "FULLWIDTH LATIN")):
        return "latin"
    return None


def detect_language(
    text: str, available: Collection[str] = ("en", "ja"), default: str = "en"
) -> str:
    """The language of a message, chosen among `available`.

    Any kana makes a message Japanese (customers mix English words into Japanese, rarely the
    other way round); Han characters alone are Japanese when the knowledge base has Japanese
    and Chinese otherwise; Hangul is Korean; Latin text that reads as romaji Japanese
    ("taikai shitai") is Japanese; other Latin script is English.

    Args:
        text: The customer's message.
        available: Languages the caller can serve; a detected language outside it falls back.
        default: Returned when nothing decides (digits, emoji) or the detected one is unavailable.
    """
    counts = Counter(s for s in map(_script, text) if s)
    if not counts:
        return default
    if counts["kana"]:
        lang = "ja"
    elif counts["hangul"] and counts["hangul"] >= counts["latin"]:
        lang = "ko"
    elif counts["han"] and counts["han"] * 2 >= counts["latin"]:
        lang = "ja" if "ja" in available or "zh" not in available else "zh"
    elif "ja" in available and romaji_to_hiragana(text) is not None:
        lang = "ja"  # Japanese typed without an input method: "taikai shitai"
    else:
        lang = "en"
    return lang if lang in available or not available else default
