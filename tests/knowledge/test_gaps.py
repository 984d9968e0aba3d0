"""Knowledge gaps on their own: which bot replies count, and how questions group."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge import gaps as gaps_module
from knowledge.gaps import GapQuestion, GapService, Topic, group
from storage.models import Conversation, Message

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def asked(text: str, lang: str = "en", minutes: int = 0, reason: str = "declined") -> GapQuestion:
    return GapQuestion(text, lang, reason, NOW + timedelta(minutes=minutes))


def test_questions_group_by_shared_words_within_a_language() -> None:
    topics = group(
        [
            asked("do you sell gift vouchers for a birthday", minutes=1),
            asked("can I buy a gift voucher for my friend", minutes=2),
            asked("is there a student discount", minutes=3),
            asked("student discount available?", minutes=4, reason="unhelpful"),
            asked("法人向けの名入れサービスはありますか", "ja", minutes=5),
            asked("名入れサービスは法人でも使えますか", "ja", minutes=6),
        ]
    )
    shapes = [t.as_dict() for t in topics]
    assert [(t["count"], t["languages"]) for t in shapes] == [
        (2, {"ja": 2}),
        (2, {"en": 2}),
        (2, {"en": 2}),
    ], "newest topic first"
    student = shapes[1]
    assert student["examples"] == ["student discount available?", "is there a student discount"]
    assert student["reasons"] == {"declined": 1, "unhelpful": 1}
    assert "student" in student["label"] and "discount" in student["label"]
    assert student["latest"] == (NOW + timedelta(minutes=4)).isoformat()


def test_unrelated_questions_stay_apart_and_examples_are_capped() -> None:
    same = [asked(f"where is my parcel {n}", minutes=n) for n in range(7)]
    topics = group([*same, asked("how do I change my password", minutes=9)])
    assert sorted(len(t.questions) for t in topics) == [1, 7]
    parcel = next(t for t in topics if len(t.questions) == 7).as_dict(examples=5)
    assert len(parcel["examples"]) == 5 and parcel["examples"][0] == "where is my parcel 6"
    assert group([]) == []


async def add_exchange(
    sessions: Sessions,
    question: str,
    *,
    kind: str,
    helpful: bool | None = None,
    misses: int | None = None,
    lang: str = "en",
    at: datetime = NOW,
    reply_to: bool = True,
) -> None:
    """A customer question and the bot's reply to it, sent at `at`."""
    meta: dict[str, Any] = {"reply_to": 1} if reply_to else {}
    if misses is not None:
        meta["scores"] = {"consecutive_misses": misses}
    async with sessions.begin() as session:
        conversation = Conversation(public_id=str(uuid.uuid4()), token_hash=uuid.uuid4().hex)
        session.add(conversation)
        await session.flush()
        session.add_all(
            [
                Message(
                    conversation_id=conversation.id,
                    seq=1,
                    role="customer",
                    text=question,
                    created_at=at,
                ),
                Message(
                    conversation_id=conversation.id,
                    seq=2,
                    role="bot",
                    kind=kind,
                    text="...",
                    lang=lang,
                    helpful=helpful,
                    meta=meta,
                    created_at=at,
                ),
            ]
        )


@pytest.mark.anyio
async def test_declines_low_confidence_handoffs_and_thumbs_down_are_gaps(
    sessions: Sessions,
) -> None:
    await add_exchange(sessions, "gift vouchers?", kind="decline")
    await add_exchange(sessions, "student discount?", kind="handoff", misses=2, lang="ja")
    await add_exchange(sessions, "where is my parcel", kind="answer", helpful=False)
    # not gaps: a handoff the customer asked for, a good answer, an old decline, no question
    await add_exchange(sessions, "talk to a human", kind="handoff", misses=0)
    await add_exchange(sessions, "returns?", kind="answer", helpful=True)
    await add_exchange(sessions, "old question", kind="decline", at=NOW - timedelta(days=40))
    await add_exchange(sessions, "lost question", kind="decline", reply_to=False)

    gaps = GapService(sessions)
    found = await gaps.questions(NOW - timedelta(days=30))
    assert sorted((q.text, q.lang, q.reason) for q in found) == [
        ("gift vouchers?", "en", "declined"),
        ("student discount?", "ja", "low_confidence"),
        ("where is my parcel", "en", "unhelpful"),
    ]
    assert all(q.at == NOW for q in found), "times come back aware, in UTC"

    report = await gaps.report(30, now=NOW + timedelta(hours=1))
    assert (report["days"], report["questions"], len(report["topics"])) == (30, 3, 3)
    assert (await gaps.report(1, now=NOW + timedelta(days=2)))["questions"] == 0


@pytest.mark.anyio
async def test_questions_from_more_conversations_than_one_read_holds_are_all_found(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy month: the conversations are read a batch at a time, and none is missed."""
    monkeypatch.setattr(gaps_module, "TRANSCRIPTS_AT_ONCE", 2)
    for n in range(5):
        await add_exchange(sessions, f"question {n}", kind="decline")
    found = await GapService(sessions).questions(NOW - timedelta(days=1))
    assert sorted(q.text for q in found) == [f"question {n}" for n in range(5)]


async def add_conversation(sessions: Sessions, *messages: dict[str, Any]) -> None:
    """A conversation of the given messages, numbered in order, all sent at NOW."""
    async with sessions.begin() as session:
        conversation = Conversation(public_id=str(uuid.uuid4()), token_hash=uuid.uuid4().hex)
        session.add(conversation)
        await session.flush()
        session.add_all(
            Message(conversation_id=conversation.id, seq=n, created_at=NOW, **fields)
            for n, fields in enumerate(messages, start=1)
        )


RETURNS = [{"article_id": "returns", "title": "Returns", "url": "/help/returns"}]


@pytest.mark.anyio
async def test_answers_followed_by_a_request_for_a_person_are_gaps_with_the_answer_given(
    sessions: Sessions,
) -> None:
    await add_conversation(
        sessions,
        {"role": "customer", "text": "the zip on my jacket broke after a week"},
        {
            "role": "bot",
            "kind": "answer",
            "text": "You can return unused items within 30 days.",
            "lang": "en",
            "citations": RETURNS,
            "meta": {"reply_to": 1},
        },
        {"role": "customer", "text": "that's not what I asked, let me talk to someone"},
        {"role": "bot", "kind": "handoff", "text": "…", "lang": "en", "meta": {"reply_to": 3}},
    )
    # 👎 on the answer and then a handoff: one gap, as unhelpful
    await add_conversation(
        sessions,
        {"role": "customer", "text": "返品の送料は？"},
        {
            "role": "bot",
            "kind": "answer",
            "text": "返品は30日以内です。",
            "lang": "ja",
            "helpful": False,
            "citations": [{"article_id": "returns-ja"}],
            "meta": {"reply_to": 1},
        },
        {"role": "bot", "kind": "handoff", "text": "…", "lang": "ja", "meta": {}},
    )
    # not a gap: asking for a person straight away, with no answer before
    await add_conversation(
        sessions,
        {"role": "customer", "text": "human please"},
        {"role": "bot", "kind": "handoff", "text": "…", "lang": "en", "meta": {"reply_to": 1}},
    )

    found = await GapService(sessions).questions(NOW - timedelta(days=1))
    assert sorted((q.text, q.reason, q.answer, q.article_id) for q in found) == [
        (
            "the zip on my jacket broke after a week",
            "person_after_answer",
            "You can return unused items within 30 days.",
            "returns",
        ),
        ("返品の送料は？", "unhelpful", "返品は30日以内です。", "returns-ja"),
    ]
    report = await GapService(sessions).report(7, now=NOW)
    mistakes = [m for t in report["topics"] for m in t["mistakes"]]
    assert {
        "question": "the zip on my jacket broke after a week",
        "answer": "You can return unused items within 30 days.",
        "answer_html": "<p>You can return unused items within 30 days.</p>\n",
        "article_id": "returns",
        "reason": "person_after_answer",
    } in mistakes


SHIPPING = [{"article_id": "shipping", "title": "Shipping", "url": "/help/shipping"}]


@pytest.mark.anyio
async def test_articles_offered_and_none_taken_are_gaps(sessions: Sessions) -> None:
    def offer(reply_to: int) -> dict[str, Any]:
        return {
            "role": "bot",
            "kind": "suggestions",
            "text": "Did you mean one of these?",
            "lang": "en",
            "citations": RETURNS + SHIPPING,
            "meta": {"reply_to": reply_to},
        }

    # offered, and the customer wrote the question again in other words instead
    await add_conversation(
        sessions,
        {"role": "customer", "text": "my order still has not come"},
        offer(1),
        {"role": "customer", "text": "the parcel I ordered has not arrived"},
        {"role": "bot", "kind": "decline", "text": "…", "lang": "en", "meta": {"reply_to": 3}},
    )
    # offered, and the customer asked for a person
    await add_conversation(
        sessions,
        {"role": "customer", "text": "can I send it back by courier"},
        offer(1),
        {"role": "customer", "text": "let me talk to someone"},
        {"role": "bot", "kind": "handoff", "text": "…", "lang": "en", "meta": {"reply_to": 3}},
    )
    # not gaps: the customer took one of the articles; the customer has not written since
    await add_conversation(
        sessions,
        {"role": "customer", "text": "returns by post"},
        offer(1),
        {"role": "customer", "kind": "choice", "text": "Returns"},
        {"role": "bot", "kind": "answer", "text": "…", "lang": "en", "meta": {"reply_to": 3}},
    )
    await add_conversation(sessions, {"role": "customer", "text": "shipping times"}, offer(1))

    found = await GapService(sessions).questions(NOW - timedelta(days=1))
    assert sorted((q.text, q.reason) for q in found) == [
        ("can I send it back by courier", "none_chosen"),
        ("my order still has not come", "none_chosen"),
        ("the parcel I ordered has not arrived", "declined"),
    ]
    passed_over = Topic([q for q in found if q.reason == "none_chosen"]).as_dict()
    assert passed_over["offered"] == [
        {"article_id": "returns", "title": "Returns", "count": 2},
        {"article_id": "shipping", "title": "Shipping", "count": 2},
    ], "what the bot offered instead, for the editor to see which was not it"
