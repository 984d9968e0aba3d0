"""detect_language: the script of a chat message decides, among the KB's languages."""

from __future__ import annotations

import pytest

from retrieval.language import detect_language


@pytest.mark.parametrize(
    "text",
    ["How do I return an item?", "Where is my parcel", "refund", "I forgot my password!!"],
)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "返品したいです",  # kana and kanji
        "へんぴんしたい",  # kana only
        "パスワード",  # katakana only
        "返金時期",  # kanji only
        "PayPayで払える？",  # mostly Latin, one kana
        "Amazon Payは使えますか",
        "ﾊﾟｽﾜｰﾄﾞ",  # half-width katakana
    ],
)
def test_japanese(text: str) -> None:
    assert detect_language(text) == "ja"


def test_kanji_only_is_chinese_when_the_kb_has_chinese_but_no_japanese() -> None:
    assert detect_language("退款时间", available=("en", "zh")) == "zh"
    assert detect_language("返金時期", available=("en", "ja", "zh")) == "ja"


def test_hangul_is_korean_when_available() -> None:
    assert detect_language("환불 언제 되나요", available=("en", "ko")) == "ko"
    assert detect_language("환불 언제 되나요", available=("en", "ja")) == "en"


@pytest.mark.parametrize("text", ["taikai shitai", "henpin dekimasu ka", "pasuwaado wasureta"])
def test_romaji_is_japanese_when_japanese_is_available(text: str) -> None:
    assert detect_language(text, available=("en", "ja")) == "ja"
    assert detect_language(text, available=("en",)) == "en"


@pytest.mark.parametrize(
    "text", ["ok thanks", "i see", "ok", "thx", "hi", "no", "so do we", "come home", "nice one"]
)
def test_short_english_stays_english(text: str) -> None:
    assert detect_language(text, available=("en", "ja")) == "en"


@pytest.mark.parametrize("text", ["", "   ", "😀🙏", "12345", "?!", "#42 -> 7"])
def test_nothing_to_decide_gives_the_default(text: str) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, available=("en", "ja"), default="ja") == "ja"


def test_a_language_outside_available_falls_back_to_the_default() -> None:
    assert detect_language("返品したい", available=("en",), default="en") == "en"
    assert detect_language("Where is my parcel", available=("ja",), default="ja") == "ja"


def test_english_with_a_few_kanji_is_not_japanese() -> None:
    """One or two Han characters in a long English sentence do not outvote it."""
    assert detect_language("what does 返品 mean in my order email") == "en"


@pytest.mark.parametrize("text", ["satin ribbon", "made in japan", "amazon"])
def test_english_words_that_spell_romaji_stay_english(text: str) -> None:
    assert detect_language(text, available=("en", "ja")) == "en"
