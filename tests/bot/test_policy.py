"""The answer-or-escalate policy over a small knowledge base (lexical retrieval)."""

from __future__ import annotations

import pytest

from bot.policy import Bot, DecisionKind, HandoffReason, Turn, conversation_signals, is_follow_up
from retrieval.hybrid import HybridRetriever, RetrievalConfig
from retrieval.kb import Article
from tests.conftest import CountingEmbedding

FILLER = "\n\n".join(
    f"Paragraph {i} talks about gift wrapping paper colours and ribbons." for i in range(12)
)
ARTICLES = [
    Article(
        id="shipping",
        title="Delivery options and fees",
        lang="en",
        body="## Domestic delivery\nStandard delivery in Japan takes 2-4 business days and "
        "costs 550 yen.\n\n## Overseas delivery\nInternational orders ship by EMS or "
        "DHL to 32 countries in 5-10 business days.",
    ),
    Article(
        id="returns",
        title="Returning an item",
        lang="en",
        body=f"## Returns\n{FILLER}\n\nYou can return an item within 30 days of delivery "
        f"using the prepaid return label.\n\n{FILLER}",
    ),
    Article(
        id="password",
        title="Resetting your password",
        lang="en",
        body="## Reset\nUse the forgot password link on the login page.",
    ),
    Article(
        id="henpin",
        title="返品の方法",
        lang="ja",
        body="## 返品\n商品到着から30日以内であれば返品できます。",
    ),
]


@pytest.fixture(scope="module")
def bot() -> Bot:
    retriever = HybridRetriever(
        CountingEmbedding(size=16),
        model_name="fake",
        config=RetrievalConfig(embedding_languages=(), encoder_confidence=False),
    )
    retriever.sync(ARTICLES)
    return Bot(retriever)


def test_an_answer_quotes_the_relevant_part_and_cites_the_article(bot: Bot) -> None:
    decision = bot.respond("how many days do I have to return an item with the label")
    assert decision.kind is DecisionKind.ANSWER
    assert decision.citations[0].article_id == "returns"
    assert "within 30 days" in decision.text
    assert len(decision.text) < len(ARTICLES[1].body) / 2, "trimmed, not the whole article"


def test_japanese_is_answered_in_japanese(bot: Bot) -> None:
    decision = bot.respond("返品したいです")
    assert decision.lang == "ja"
    assert decision.citations[0].article_id == "henpin"
    assert "30日以内" in decision.text and "返品の方法" not in decision.text  # the source once


def test_a_short_follow_up_is_read_with_the_previous_question(bot: Bot) -> None:
    history = [
        Turn("customer", "how long does standard delivery take in Japan"),
        Turn("bot", "2-4 business days", "answer"),
    ]
    decision = bot.respond("and overseas?", history)
    assert decision.citations and decision.citations[0].article_id == "shipping"
    assert "EMS" in decision.text


def test_an_explicit_request_hands_off_at_once(bot: Bot) -> None:
    decision = bot.respond("I'd like to speak to a real person")
    assert decision.handoff and decision.handoff_reason is HandoffReason.CUSTOMER_REQUEST


def test_frustration_outranks_an_available_answer(bot: Bot) -> None:
    decision = bot.respond("THIS IS RIDICULOUS!!! how do I return an item, third time asking")
    assert decision.handoff_reason is HandoffReason.FRUSTRATION
    assert decision.scores["frustration"] >= bot.frustration_threshold


def test_the_second_miss_in_a_row_hands_off(bot: Bot) -> None:
    first = bot.respond("zorblax quantum capacitor")
    assert first.kind is DecisionKind.DECLINE
    history = [Turn("customer", "zorblax quantum capacitor"), Turn("bot", first.text, "decline")]
    second = bot.respond("glorp vexillology", history)
    assert second.handoff_reason is HandoffReason.LOW_CONFIDENCE
    assert second.scores["consecutive_misses"] == 2


def test_small_talk_needs_no_lookup(bot: Bot) -> None:
    decision = bot.respond("thank you!")
    assert decision.kind is DecisionKind.SMALLTALK and not decision.citations


def test_conversation_signals_count_the_latest_unhelpful_answers_and_misses() -> None:
    history = [
        Turn("customer", "a"),
        Turn("bot", "x", "answer", helpful=True),
        Turn("customer", "b"),
        Turn("bot", "y", "answer", helpful=False),
        Turn("customer", "c"),
        Turn("bot", "z", "suggestions", helpful=False),
        Turn("customer", "d"),
        Turn("bot", "no", "decline"),
    ]
    signals = conversation_signals(history)
    assert signals.consecutive_unhelpful == 2
    assert signals.consecutive_misses == 1
    assert signals.previous_customer_texts == ("a", "b", "c", "d")


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("and for overseas orders?", "en", True),
        ("what about express?", "en", True),
        ("How do I return an item I bought last week?", "en", False),
        ("海外の場合は？", "ja", True),
        ("それと送料は？", "ja", True),
        ("注文した商品の返品方法を詳しく教えてください", "ja", False),
    ],
)
def test_follow_up_detection(text: str, lang: str, expected: bool) -> None:
    assert is_follow_up(text, lang) is expected
