"""Topic labels in the customers' own words."""

from __future__ import annotations

from retrieval.topics import customer_words, topic_label


def test_english_words_are_kept_as_typed_without_stop_words() -> None:
    assert customer_words("Is the linen shirt machine washable?", "en") == [
        "linen",
        "shirt",
        "machine",
        "washable",
    ]


def test_japanese_nouns_keep_their_surface_form() -> None:
    assert customer_words("返品の期限はいつまでですか", "ja") == ["返品", "期限"]


def test_kana_and_romaji_stay_as_typed_never_a_guessed_kanji() -> None:
    assert customer_words("へんぴんしたい", "ja") == ["へんぴん"]
    assert customer_words("kyanseru dekimasu ka", "ja") == ["kyanseru"]
    assert "辺鄙" not in topic_label(["へんぴん", "へんぴんできる？"], "ja")


def test_the_label_is_the_words_most_questions_share() -> None:
    questions = ["返品の期限は？", "返品できる期限を教えて", "返品の送料"]
    assert topic_label(questions, "ja", words=2) == "返品 / 期限"
    assert topic_label([], "en") == ""
