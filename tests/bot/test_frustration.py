"""Frustration scoring: the message's wording and what happened in the conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.frustration import (
    DEFAULT_THRESHOLD,
    ConversationSignals,
    FrustrationScore,
    score_frustration,
    similarity,
)
from eval.cases import load_cases
from eval.metrics import classification_metrics

DATASETS = Path(__file__).resolve().parents[2] / "eval" / "datasets"


def frustrated(
    text: str,
    lang: str = "en",
    *,
    previous_customer_texts: tuple[str, ...] = (),
    consecutive_unhelpful: int = 0,
    consecutive_misses: int = 0,
) -> bool:
    signals = ConversationSignals(
        previous_customer_texts, consecutive_unhelpful, consecutive_misses
    )
    return score_frustration(text, lang, signals).exceeds(DEFAULT_THRESHOLD)


# Phrasings written for these tests, not taken from the evaluation datasets.
@pytest.mark.parametrize(
    "message",
    [
        "This is the worst shop I have ever used",
        "you guys are a bunch of clowns",
        "honestly this is a scam",
        "what the hell is going on with my order",
        "useless bot",
        "I'm fed up with waiting",
        "I've asked four times now and nobody answers",
        "I'm never ordering from you again",
        "do I need to call my lawyer?",
    ],
)
def test_abuse_and_complaints_in_english_are_frustrated(message: str) -> None:
    assert frustrated(message)


@pytest.mark.parametrize(
    "message",
    [
        "ふざけんなよ",
        "この店最悪",
        "いつまで待てばいいんですか！",
        "何度も同じことを聞かないでください",
        "返金しないなら消費者センターに相談します",
        "マジで使えない",
        "もう二度と利用しません",
        "これで３回目のご連絡です。",  # polite on the surface
        "いまだにご返答をいただけておりません。",
        "誠に遺憾に存じます",
    ],
)
def test_abuse_and_complaints_in_japanese_are_frustrated(message: str) -> None:
    assert frustrated(message, "ja")


def test_shouting_is_frustrated() -> None:
    assert frustrated("WHERE IS MY PARCEL")
    assert not frustrated("where is my parcel")


def test_one_shouted_word_needs_company() -> None:
    """An emphatic NOW is a hint; with a demand it tips over."""
    assert not frustrated("can you check it NOW please")
    assert frustrated("I want my money back NOW")


def test_acronyms_are_not_shouting() -> None:
    assert not frustrated("does DHL or EMS deliver to the USA?")
    assert score_frustration("can I log in with my LINE account", "en").score == 0


def test_repeated_punctuation_alone_stays_below_but_adds_up() -> None:
    assert not frustrated("refund when??")
    assert frustrated("still no refund??")
    assert frustrated("まだ届かないんですけど？？？", "ja")  # full-width, folded by NFKC


@pytest.mark.parametrize(
    ("message", "lang"),
    [
        ("my order is wrong, can you help?", "en"),
        ("there's a problem with my payment", "en"),
        ("the box arrived broken, what now?", "en"),
        ("I received the wrong item, what's the next step?", "en"),
        ("the worst part is I need it by friday, can you expedite?", "en"),
        ("tell me a joke", "en"),
        ("I hate to bother you, but where's my parcel?", "en"),
        ("商品が壊れていました", "ja"),
        ("注文内容に間違いがありました", "ja"),
        ("支払いで問題が発生しました", "ja"),
        ("最悪の場合、返品できますか", "ja"),
        ("最悪キャンセルになっても大丈夫です", "ja"),
        ("ひどい雨で受け取れませんでした、再配達お願いします", "ja"),
        ("何度もすみません、もう一つ質問です", "ja"),
        ("レビューを書きたいのですがどこから書けますか", "ja"),
        ("二度目の注文です", "ja"),
    ],
)
def test_calm_messages_with_negative_words_stay_below(message: str, lang: str) -> None:
    assert not frustrated(message, lang)


def test_asking_again_after_a_reply_that_did_not_help_is_frustrated() -> None:
    earlier = ("where is my order 12345?",)
    assert frustrated(
        "where's my order #12345", previous_customer_texts=earlier, consecutive_misses=1
    )
    assert frustrated(
        "where's my order #12345", previous_customer_texts=earlier, consecutive_unhelpful=1
    )
    assert frustrated(
        "注文した商品はいつ届きますか",
        "ja",
        previous_customer_texts=("注文した商品はいつ届きますか？",),
        consecutive_misses=1,
    )
    assert not frustrated("where's my order #12345", consecutive_misses=1)


def test_asking_again_politely_after_an_answer_is_not_frustration() -> None:
    earlier = ("where is my order 12345?",)
    assert not frustrated("where's my order #12345", previous_customer_texts=earlier)
    assert not frustrated(
        "注文した商品はいつ届きますか",
        "ja",
        previous_customer_texts=("注文した商品はいつ届きますか？",),
    )


def test_asking_again_while_saying_it_did_not_help_is_frustration() -> None:
    earlier = ("where is my order 12345?",)
    assert frustrated(
        "that's not what I asked, where is my order 12345?", previous_customer_texts=earlier
    )
    assert frustrated(
        "答えになっていません。注文した商品はいつ届きますか",
        "ja",
        previous_customer_texts=("注文した商品はいつ届きますか？",),
    )


def test_the_learned_signal_adds_up_with_the_rules() -> None:
    assert not score_frustration("where is my parcel", "en", learned=0.4).exceeds()
    assert score_frustration("where is my parcel", "en", learned=0.5).exceeds()
    assert "learned" not in score_frustration("hello", "en", learned=0.05).signals


def test_a_different_question_is_not_a_repeat() -> None:
    assert not frustrated("how do I return it?", previous_customer_texts=("where is my order?",))


def test_short_replies_repeat_naturally() -> None:
    assert not frustrated("ok", previous_customer_texts=("ok", "ok"))
    assert not frustrated("はい", "ja", previous_customer_texts=("はい",))


def test_similarity_is_symmetric_and_bounded() -> None:
    assert similarity("where is my order", "where is my order") == 1
    assert similarity("where is my order", "reset my password") < 0.3
    assert similarity("返品したい", "返品したいです") == similarity("返品したいです", "返品したい")
    assert similarity("", "anything") == 0


def test_consecutive_thumbs_down() -> None:
    assert not frustrated("hmm", consecutive_unhelpful=1)
    assert frustrated("hmm", consecutive_unhelpful=2)
    assert frustrated("hmm", consecutive_unhelpful=5)


def test_consecutive_misses_add_up_with_other_signals() -> None:
    assert not frustrated("and the delivery fee?", consecutive_misses=1)
    assert not frustrated("and the delivery fee?", consecutive_misses=2)
    assert frustrated("and the delivery fee??", consecutive_misses=3)


def test_score_is_bounded_and_explained() -> None:
    score = score_frustration(
        "THIS IS RIDICULOUS!!! third time asking, useless scam",
        "en",
        ConversationSignals(("this is ridiculous third time asking",), 4, 4),
    )
    assert 0 <= score.score <= 1
    assert {
        "negative",
        "shouting",
        "repeated_punctuation",
        "abusive",
        "repeated_question",
        "unhelpful_answers",
        "consecutive_misses",
    } <= set(score.signals)
    calm = score_frustration("how much is shipping?", "en")
    assert calm.score == 0 and calm.signals == {}


def test_exceeds_is_at_or_above_the_threshold() -> None:
    assert FrustrationScore(0.5, {}).exceeds(0.5)
    assert not FrustrationScore(0.49, {}).exceeds(0.5)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_frustration_acceptance_bar_on_the_dataset(lang: str) -> None:
    cases = load_cases(DATASETS / f"{lang}_frustration.jsonl")
    pairs = [(frustrated(c.text, lang), bool(c.frustrated)) for c in cases]
    metrics = classification_metrics(pairs)
    assert metrics["f1"] >= 0.80, metrics


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_calm_questions_rarely_look_frustrated(lang: str) -> None:
    cases = load_cases(DATASETS / f"{lang}_retrieval.jsonl")
    fired = [c.text for c in cases if frustrated(c.text, lang)]
    assert len(fired) < 0.03 * len(cases), fired
