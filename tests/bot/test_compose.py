"""Answers a customer reads in ten seconds, on the sample knowledge base (real model)."""

from __future__ import annotations

import re

import pytest

from bot.compose import Section, compose_answer, excerpt
from bot.policy import Bot, DecisionKind
from retrieval.embeddings import DEFAULT_MODEL, SentenceTransformerEmbeddings
from retrieval.hybrid import HybridRetriever
from retrieval.kb import load_kb
from tests.conftest import SAMPLE_KB

# What a customer reads: the link's text, not its address.
_LINK = re.compile(r"\]\([^)]*\)")


def visible(text: str) -> str:
    return _LINK.sub("]", text).replace("**", "")


@pytest.fixture(scope="module")
def sample_bot(real_embeddings: SentenceTransformerEmbeddings) -> Bot:
    kb = load_kb(SAMPLE_KB)
    retriever = HybridRetriever(real_embeddings, model_name=DEFAULT_MODEL)
    retriever.sync(kb.articles)
    return Bot(retriever, learned_intents=False)


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "article", "fact", "limit"),
    [
        ("How do I return an item?", "return-item", "Return request", 500),
        ("how long do refunds take?", "refund-timing", "3 business days", 500),
        ("How do I reset my password?", "reset-password", "Forgot your password?", 500),
        ("What payment methods do you accept?", "payment-methods", "Cash on delivery", 500),
        ("Which items cannot be returned?", "return-item", "underwear", 500),
        ("How do I track my package?", "track-package", "Track parcel", 500),
        ("返品したい", "return-item-ja", "返品申請", 250),
        ("パスワードを忘れました", "reset-password-ja", "パスワードをお忘れの方", 250),
        ("支払い方法は？", "payment-methods-ja", "PayPay", 250),
        ("注文をキャンセルしたい", "cancel-order-ja", "注文受付", 250),
    ],
)
def test_typical_answers_are_short_and_say_what_was_asked(
    sample_bot: Bot, question: str, article: str, fact: str, limit: int
) -> None:
    decision = sample_bot.respond(question)
    assert decision.kind is DecisionKind.ANSWER, decision.text
    assert decision.citations[0].article_id == article
    text = visible(decision.text)
    assert fact in text, decision.text
    assert len(text) <= limit, (len(text), decision.text)
    # the source is named once (as the citation), and the whole article is one tap away
    assert decision.citations[0].title not in decision.text
    assert decision.citations[0].url and f"({decision.citations[0].url})" in decision.text
    assert "This article" not in text and "この記事では" not in decision.text.split("\n")[0]


@pytest.mark.model
def test_a_chosen_article_answers_the_question_asked_before(sample_bot: Bot) -> None:
    decision = sample_bot.answer_from("return-item", "how much is the return shipping fee")
    assert decision.kind is DecisionKind.ANSWER
    assert "¥550" in decision.text and len(visible(decision.text)) <= 500
    with pytest.raises(KeyError):
        sample_bot.answer_from("no-such-article", "anything")


def test_a_list_that_answers_is_kept_whole_with_its_lead_in() -> None:
    sections = [
        Section("", "This article explains returns. You can send items back."),
        Section("Fees", "Returns cost 550 yen. Defective items are free."),
        Section(
            "Items that cannot be returned",
            "We cannot accept returns of:\n- underwear\n- gift cards\n- opened cosmetics\n\n"
            "Damaged items can still be reported.",
        ),
    ]
    text = compose_answer(sections, "which items cannot be returned", "en", 60)
    assert text.startswith("We cannot accept returns of:\n- underwear\n- gift cards")
    assert "550" not in text and "This article" not in text


def test_excerpt_keeps_a_list_with_its_lead_in_and_short_passages_whole() -> None:
    short = "Send it back within 30 days."
    assert excerpt(short, "return", "en") == short
    long = (
        "Intro about many unrelated things. " * 20 + "\n\nTo return an item:\n"
        "- open Order history\n- press Return request\n\n" + "Outro text. " * 40
    )
    part = excerpt(long, "how do I return an item", "en", max_chars=300)
    assert "To return an item:\n- open Order history\n- press Return request" in part
    assert "Outro" not in part


@pytest.mark.model
def test_a_customer_asking_an_articles_own_question_gets_its_answer_not_the_question(
    sample_bot: Bot,
) -> None:
    """The articles' `questions` find them; the answer is always from their sections."""
    echoed = []
    answered = 0
    for article in load_kb(SAMPLE_KB).articles:
        for question in article.questions:
            decision = sample_bot.respond(question, lang=article.lang)
            if decision.kind is not DecisionKind.ANSWER:
                continue
            answered += 1
            if question in visible(decision.text):
                echoed.append((question, decision.text))
    assert answered >= 300, answered
    assert not echoed, echoed[:3]
