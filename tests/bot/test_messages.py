"""Customer-facing bot texts: every message in every language, English as the fallback."""

from __future__ import annotations

import re

import pytest

from bot import messages
from bot.messages import HANDOFF_REASONS, LANGUAGES, MESSAGES, placeholders, text

KEYS = sorted(MESSAGES["en"])
SAMPLE_PARAMS = {
    "title": "Returning an item",
    "url": "https://example.com/r",
    "position": 3,
    "hours": "9:00-18:00",
    "name": "Aiko",
    "email": "customer@example.com",
    # when the team is back, and its hours (conversations/opening.py fills these in)
    "back": "月曜 9:00 から対応いたします（日本時間）。",
    "when": "月曜 9:00",
    "zone": "日本時間",
    "time": "9:00",
    "weekday": "月曜",
    "day": 5,
    "month": "1月",
    "first": "月曜",
    "last": "金曜",
    "days": "月曜〜金曜",
    "start": "9:00",
    "end": "18:00",
    "city": "東京",
}


def test_every_message_exists_in_every_language() -> None:
    for lang in LANGUAGES:
        assert set(MESSAGES[lang]) == set(KEYS), f"{lang} catalogue differs from English"


@pytest.mark.parametrize("key", KEYS)
def test_placeholders_match_across_languages(key: str) -> None:
    """A translation that drops {position} would show customers a wrong or broken text."""
    expected = placeholders(key, "en")
    for lang in LANGUAGES:
        assert placeholders(key, lang) == expected, f"{key} in {lang}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", KEYS)
def test_every_message_renders_without_leftover_braces(key: str, lang: str) -> None:
    rendered = text(key, lang, **SAMPLE_PARAMS)
    assert rendered.strip()
    assert not re.search(r"[{}]", rendered)


def test_japanese_texts_are_japanese() -> None:
    for key in KEYS:
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text(key, "ja", **SAMPLE_PARAMS)), key


def test_parameters_are_filled_in() -> None:
    assert "3" in text("handoff_waiting", "en", position=3)
    assert "3番目" in text("handoff_waiting", "ja", position=3)
    assert "Returning an item" in text("answer_lead_in", "en", title="Returning an item")
    assert "「返品の方法」" in text("answer_lead_in", "ja", title="返品の方法")
    assert "https://example.com/r" in text(
        "answer_source_link", "en", title="R", url="https://example.com/r"
    )


def test_decline_offers_a_person() -> None:
    assert text("decline", "en") == (
        "I couldn't find that in our help centre. Would you like to talk to a person?"
    )
    assert "担当者" in text("decline", "ja")


@pytest.mark.parametrize("reason", HANDOFF_REASONS)
def test_each_handoff_reason_has_a_notice(reason: str) -> None:
    for lang in LANGUAGES:
        assert text(f"handoff_{reason}", lang)
    assert "connecting you" in text(f"handoff_{reason}", "en")


@pytest.mark.parametrize("lang", ["fr", "", "xx-YY"])
def test_unknown_language_falls_back_to_english(lang: str) -> None:
    assert text("greeting", lang) == text("greeting", "en")


def test_language_tags_with_regions_use_the_base_language() -> None:
    assert text("goodbye", "ja-JP") == text("goodbye", "ja")
    assert text("goodbye", "EN_gb") == text("goodbye", "en")


def test_missing_key_names_the_key() -> None:
    with pytest.raises(KeyError, match="no_such_message"):
        text("no_such_message", "en")


def test_missing_parameter_names_the_key_and_the_parameter() -> None:
    with pytest.raises(KeyError, match="handoff_waiting.*position"):
        text("handoff_waiting", "ja")


def test_text_is_plain_not_markup() -> None:
    """The texts are UI-independent: no HTML or Markdown for one particular front end."""
    for lang in LANGUAGES:
        for key in KEYS:
            assert not re.search(r"<[a-z/]|\*\*|\[.+\]\(", messages.MESSAGES[lang][key]), key
