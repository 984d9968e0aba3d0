"""The customers' side without the web app: what is stored, and what is delivered."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.policy import Decision, Turn
from conversations import transcript
from conversations.closing import end_chat
from conversations.errors import ChatError
from conversations.timing import STEPS, ReplyClock
from delivery.events import QueueChanged, ReplyTimed
from storage.models import Conversation, Message
from tests.conversations.conftest import Chat, make_chat

pytestmark = pytest.mark.anyio


async def test_a_question_is_stored_delivered_and_answered_with_its_source(chat: Chat) -> None:
    ref, token = await chat.service.start("en")
    frame, duplicate = await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    assert (frame["seq"], frame["role"], duplicate) == (1, "customer", False)
    replies = chat.recorder.frames("message")
    assert [m["role"] for m in replies] == ["customer", "bot"]
    answer = replies[1]
    assert answer["kind"] == "answer"
    assert answer["citations"][0]["article_id"] == "return-item"  # type: ignore[index]
    typing = [f["typing"] for f in chat.recorder.frames("typing")]
    assert typing == [True, False]
    assert await chat.service.resume(token) is not None


async def test_each_step_of_a_reply_is_timed_from_the_message_arriving(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """What an operator reads on /metrics to see where a reply's time goes: a slow bot
    shows as a long `thought`, and nowhere else."""

    async def slow_bot(
        respond: Callable[[str, list[Turn]], Decision], text: str, history: list[Turn]
    ) -> Decision:
        await asyncio.sleep(0.3)
        return respond(text, history)

    chat = make_chat(sessions, run_bot=slow_bot)
    ref, _ = await chat.service.start("en")
    started = time.perf_counter()
    await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    took = time.perf_counter() - started
    timed = [e for e in chat.recorder.events if isinstance(e, ReplyTimed)]
    assert len(timed) == 1
    steps = dict(timed[0].steps)
    assert list(steps) == list(STEPS)
    assert steps["thought"] >= 0.3
    assert all(0 <= seconds < 0.3 for step, seconds in steps.items() if step != "thought")
    assert sum(steps.values()) <= took  # each step's own time, not since the arrival
    # a reply found pending after a restart did not start with a message arriving
    async with chat.service.sessions.begin() as session:
        await session.execute(
            update(Message).where(Message.role == "customer").values(reply_pending=True)
        )
    chat.recorder.events.clear()
    assert await chat.service.replies.recover() == 1
    await chat.service.drain()
    assert chat.recorder.frames("message") and not any(
        isinstance(e, ReplyTimed) for e in chat.recorder.events
    )


def test_the_models_are_ready_when_the_last_of_them_is() -> None:
    done_before: Future[int] = Future()
    done_before.set_result(1)
    later: Future[int] = Future()
    clock = ReplyClock()
    clock.watch([done_before, later])
    assert clock.models is None, "one model is still running"
    finisher = threading.Timer(0.05, later.set_result, [2])  # as a batcher's thread does
    finisher.start()
    finisher.join()
    assert clock.models is not None and clock.models >= 0.05
    nothing = ReplyClock()
    nothing.watch([])  # every vector remembered already: no model ran
    assert nothing.models is None


async def test_a_resent_message_is_acknowledged_again_and_stored_once(chat: Chat) -> None:
    ref, _ = await chat.service.start("en")
    first, _ = await chat.service.receive(ref, "c1", "how do I return an item")
    again, duplicate = await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    assert duplicate and again["seq"] == first["seq"]
    stored = await chat.service.messages_after(ref.id, 0)
    assert [m["role"] for m in stored] == ["customer", "bot"]


async def test_asking_for_a_person_queues_the_conversation_and_says_so(chat: Chat) -> None:
    ref, _ = await chat.service.start("en")
    await chat.service.request_handoff(ref)
    notice, state = chat.recorder.frames()[-2:]
    assert notice["kind"] == "handoff"
    assert state == {
        "type": "state",
        "state": "waiting",
        "reason": "customer_request",
        "queue_position": 1,
        "estimated_wait_seconds": 240,
        "offline": False,
        "opens_at": None,
    }
    assert isinstance(chat.recorder.events[-1], QueueChanged)


async def test_outside_hours_the_handoff_notice_says_when_people_are_back(chat: Chat) -> None:
    chat.queue.is_open = False
    ref, _ = await chat.service.start("en")
    await chat.service.request_handoff(ref)
    notice = chat.recorder.frames("message")[-1]
    assert "We're back" in str(notice["text"]) and "(Japan time)" in str(notice["text"])
    assert "Monday to Friday 9:00–18:00" in str(notice["text"])
    assert "mon-fri" not in str(notice["text"]), "not the raw setting"


async def test_a_closed_conversation_takes_no_more_messages(chat: Chat) -> None:
    ref, _ = await chat.service.start("en")
    await end_chat(chat.service, ref)
    with pytest.raises(ChatError) as refused:
        await chat.service.receive(ref, "c2", "hello?")
    assert refused.value.code == "conversation_closed"


async def test_feedback_is_only_for_the_bots_messages(chat: Chat) -> None:
    ref, _ = await chat.service.start("en")
    await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    await chat.service.feedback(ref, 2, helpful=False)
    assert chat.recorder.frames("feedback") == [{"type": "feedback", "seq": 2, "helpful": False}]
    with pytest.raises(ChatError) as refused:
        await chat.service.feedback(ref, 1, helpful=True)
    assert refused.value.code == "unknown_message"


async def test_leaving_an_address_queues_the_conversation_for_follow_up(chat: Chat) -> None:
    ref, _ = await chat.service.start("en")
    with pytest.raises(ChatError):
        await chat.service.contact(ref, "not an address", "")
    await chat.service.contact(ref, "mika@example.com", "call me back")
    thanks, state = chat.recorder.frames()[-2:]
    assert "mika@example.com" in str(thanks["text"])
    assert state["state"] == "waiting"


async def test_a_message_another_server_answered_meanwhile_gets_no_second_reply(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def answered_elsewhere_while_thinking(
        respond: Callable[[str, list[Turn]], Decision], text: str, history: list[Turn]
    ) -> Decision:
        async with sessions.begin() as session:  # the other server stores its reply
            await session.execute(update(Message).values(reply_pending=False))
        return respond(text, history)

    chat = make_chat(sessions, run_bot=answered_elsewhere_while_thinking)
    ref, _ = await chat.service.start("en")
    await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    stored = await chat.service.messages_after(ref.id, 0)
    assert [m["role"] for m in stored] == ["customer"]  # no answer from this server
    assert [f["typing"] for f in chat.recorder.frames("typing")] == [True, False]


async def test_a_bot_that_fails_apologises_once_and_the_message_is_not_retried(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def broken(
        respond: Callable[[str, list[Turn]], Decision], text: str, history: list[Turn]
    ) -> Decision:
        raise RuntimeError("the model ran out of memory")

    chat = make_chat(sessions, run_bot=broken)
    ref, _ = await chat.service.start("en")
    await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    assert await chat.service.replies.recover() == 0  # nothing left pending to answer again
    stored = await chat.service.messages_after(ref.id, 0)
    assert [(m["role"], m["kind"]) for m in stored] == [("customer", "text"), ("system", "notice")]


async def test_the_bot_reads_the_conversation_so_far_with_files_by_name(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[list[Turn]] = []

    async def run_bot(
        respond: Callable[[str, list[Turn]], Decision], text: str, history: list[Turn]
    ) -> Decision:
        seen.append(list(history))
        return respond(text, history)

    chat = make_chat(sessions, run_bot=run_bot)
    ref, _ = await chat.service.start("en")
    await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    async with sessions.begin() as session:
        conversation = await session.get_one(Conversation, ref.id)
        await transcript.append(
            session,
            conversation,
            role="customer",
            text="here it is",
            meta={"attachments": [{"id": "f1", "name": "receipt.pdf"}]},
        )
    await chat.service.receive(ref, "c2", "when do I get my refund")
    await chat.service.drain()
    turns = seen[-1]
    assert [(t.role, t.kind) for t in turns] == [
        ("customer", "text"),
        ("bot", "answer"),
        ("customer", "text"),
    ]
    assert turns[0].text == "how do I return an item"
    assert "30 days" in turns[1].text
    assert turns[2].text == "here it is\n[attachment: receipt.pdf]"


async def test_the_models_start_on_a_message_before_it_is_stored(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, _ = await chat.service.start("en")
    bot = chat.service.replies.bot
    started: list[tuple[str, int]] = []

    def prefetch(text: str, *, lang: str | None = None) -> None:
        started.append((text, len(chat.recorder.frames("message"))))

    monkeypatch.setattr(bot.retriever, "prefetch", prefetch)
    await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    # at once (nothing stored or delivered yet), and again, found ready, by the reply
    assert started[0] == ("how do I return an item", 0)
    assert [m["kind"] for m in chat.recorder.frames("message")] == ["text", "answer"]


async def test_models_that_cannot_start_early_do_not_stop_the_message(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, _ = await chat.service.start("en")

    def broken(text: str) -> None:
        raise RuntimeError("the embedding batcher is gone")

    monkeypatch.setattr(chat.service.replies.bot, "prefetch", broken)
    frame, _ = await chat.service.receive(ref, "c1", "how do I return an item")
    await chat.service.drain()
    assert frame["text"] == "how do I return an item"
    stored = await chat.service.messages_after(ref.id, 0)
    assert [(m["role"], m["kind"]) for m in stored] == [("customer", "text"), ("bot", "answer")]


async def test_a_conversation_closed_behind_the_lock_takes_no_message(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Where the conversation's lock failed a message (a Redis lock that ran out while its
    holder stalled), the statement that takes the message's seq still sees the conversation
    closed: the message is refused, not stored, and takes no seq."""
    ref, _ = await chat.service.start("en")
    await chat.service.receive(ref, "c1", "hello?")
    await chat.service.drain()
    async with sessions.begin() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == ref.id).values(state="closed")
        )
    with pytest.raises(ChatError) as refused:
        await chat.service.receive(ref, "c2", "anyone there?")
    assert refused.value.code == "conversation_closed"
    async with sessions() as session:
        assert await transcript.by_client_id(session, ref.id, "c2") is None
        conversation = await session.get_one(Conversation, ref.id)
    assert conversation.last_seq == 2  # the question and its answer
    # the message sent before it closed, sent again, is acknowledged as stored
    frame, duplicate = await chat.service.receive(ref, "c1", "hello?")
    assert duplicate and frame["seq"] == 1


@pytest.mark.parametrize(
    ("moved_to", "question", "answered"),
    [
        ("agent", "how do I return an item", False),  # a person has it: the bot is silent
        ("waiting", "how do I return an item", True),  # waiting: the bot still answers
        ("waiting", "zorblax quantum capacitor", False),  # ... but does not decline
    ],
)
async def test_a_conversation_that_moves_while_the_bot_thinks_gets_the_reply_its_state_allows(
    sessions: async_sessionmaker[AsyncSession], moved_to: str, question: str, answered: bool
) -> None:
    async def moved_while_thinking(
        respond: Callable[[str, list[Turn]], Decision], text: str, history: list[Turn]
    ) -> Decision:
        async with sessions.begin() as session:  # an agent claims it, or it is queued
            await session.execute(update(Conversation).values(state=moved_to))
        return respond(text, history)

    chat = make_chat(sessions, run_bot=moved_while_thinking)
    ref, _ = await chat.service.start("en")
    await chat.service.receive(ref, "c1", question)
    await chat.service.drain()
    stored = await chat.service.messages_after(ref.id, 0)
    expected = ["customer", "bot"] if answered else ["customer"]
    assert [m["role"] for m in stored] == expected
    assert [m["seq"] for m in stored] == list(range(1, len(expected) + 1))  # no gap
    assert await chat.service.replies.recover() == 0  # nothing left to answer again


async def test_declines_in_a_row_are_counted_on_the_conversation_until_an_answer(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The conversation keeps the bot's declines in a row (an answer starts them again)
    and the language it last answered in, written by the statement that takes the seq."""
    ref, _ = await chat.service.start("en")

    async def misses() -> tuple[int, str]:
        async with sessions() as session:
            conversation = await session.get_one(Conversation, ref.id)
            return conversation.consecutive_misses, conversation.lang

    await chat.service.receive(ref, "c1", "zorblax quantum capacitor")
    await chat.service.drain()
    assert await misses() == (1, "en")
    await chat.service.receive(ref, "c2", "how do I return an item")
    await chat.service.drain()
    assert await misses() == (0, "en")


async def test_a_handoff_whose_queue_place_cannot_be_read_is_still_announced(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The bot's handoff is committed before the customer's place is read: when that read
    fails, the customer still gets the notice and the waiting state (without a place),
    and the agents hear of the queue."""
    chat = make_chat(sessions)

    async def unreadable(*_: object) -> tuple[int, int]:
        raise ConnectionError("the database went away for a moment")

    chat.queue.place = unreadable  # type: ignore[method-assign,assignment]
    ref, _ = await chat.service.start("en")
    await chat.service.receive(ref, "c1", "I want to talk to a human")
    await chat.service.drain()
    bot = [m for m in chat.recorder.frames("message") if m["role"] == "bot"]
    assert [m["kind"] for m in bot] == ["handoff"]
    state = chat.recorder.frames("state")[-1]
    assert (state["state"], state["queue_position"]) == ("waiting", None)
    assert any(isinstance(e, QueueChanged) for e in chat.recorder.events)
