"""Japanese typed in Latin letters: to_hiragana and romaji_to_hiragana."""

from __future__ import annotations

import pytest

from retrieval.romaji import romaji_to_hiragana, to_hiragana


@pytest.mark.parametrize(
    ("hepburn", "kunrei", "kana"),
    [
        ("shi", "si", "し"),
        ("chi", "ti", "ち"),
        ("tsu", "tu", "つ"),
        ("fu", "hu", "ふ"),
        ("ji", "zi", "じ"),
        ("sha", "sya", "しゃ"),
        ("cho", "tyo", "ちょ"),
        ("ju", "zyu", "じゅ"),
    ],
)
def test_hepburn_and_kunrei_spellings_give_the_same_kana(
    hepburn: str, kunrei: str, kana: str
) -> None:
    assert to_hiragana(hepburn) == kana
    assert to_hiragana(kunrei) == kana


@pytest.mark.parametrize(
    ("word", "kana"),
    [
        ("kippu", "きっぷ"),
        ("matte", "まって"),
        ("zasshi", "ざっし"),
        ("matcha", "まっちゃ"),
        ("kitte", "きって"),
    ],
)
def test_double_consonants_give_small_tsu(word: str, kana: str) -> None:
    assert to_hiragana(word) == kana


@pytest.mark.parametrize(
    ("word", "kana"),
    [
        ("shinbun", "しんぶん"),
        ("hon", "ほん"),
        ("konnichiha", "こんにちは"),
        ("kantan", "かんたん"),
        ("sanpo", "さんぽ"),
        ("henpin", "へんぴん"),
    ],
)
def test_n_before_a_consonant_or_at_the_end_is_syllabic_n(word: str, kana: str) -> None:
    assert to_hiragana(word) == kana


def test_n_before_a_vowel_starts_a_syllable() -> None:
    assert to_hiragana("kani") == "かに"
    assert to_hiragana("kanni") == "かんに"


@pytest.mark.parametrize(
    ("word", "kana"),
    [
        ("toukyou", "とうきょう"),
        ("oosaka", "おおさか"),
        ("ra-men", "らーめん"),
        ("pa-ti-", "ぱーちー"),
    ],
)
def test_long_vowels(word: str, kana: str) -> None:
    assert to_hiragana(word) == kana


def test_macron_long_vowels_read_as_doubled_vowels() -> None:
    assert to_hiragana("rāmen") == to_hiragana("raamen")
    assert to_hiragana("Tōkyō") == to_hiragana("tookyoo")


def test_to_hiragana_is_case_insensitive() -> None:
    assert to_hiragana("HENPIN") == to_hiragana("henpin")


@pytest.mark.parametrize("word", ["thanks", "parcel", "xyz", "street", "q"])
def test_non_romaji_words_give_none(word: str) -> None:
    assert to_hiragana(word) is None


def test_romaji_sentence_turns_into_hiragana_words() -> None:
    assert romaji_to_hiragana("taikai shitai") == "たいかい したい"
    assert romaji_to_hiragana("Henpin dekimasu ka?") == "へんぴん できます か"


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password",
        "where is my parcel",
        "how do I return an item",
        "ok thanks",
        "i see",
        "take some time",  # every word is valid romaji, but all are English words
        "no",  # one short word
        "hello world",
        "",
    ],
)
def test_english_sentences_are_rejected(text: str) -> None:
    assert romaji_to_hiragana(text) is None


def test_one_long_romaji_word_is_accepted() -> None:
    assert romaji_to_hiragana("pasuwaado") == "ぱすわあど"
