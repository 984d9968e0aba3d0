"""The agents' side without the web app: claims, limits, hand-back, close, requeue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accounts.users import Role, create_user
from conversations.closing import end_chat
from conversations.errors import ChatError
from conversations.service import ConversationRef
from delivery.events import AgentsNotified, ConversationUpdated, QueueChanged
from delivery.presence import InProcessPresence
from handoff import _rows
from handoff import lineup as lineup_module
from handoff.assignment import Assignment
from handoff.config import HandoffConfig
from handoff.hours import BusinessHours
from handoff.lineup import REFRESH_PAUSE_PER_SECOND, Lineup
from reports.build import build_report
from reports.periods import Period
from storage.models import Message
from tests.conversations.conftest import Chat

pytestmark = pytest.mark.anyio


@dataclass
class Desk:
    assignment: Assignment
    lineup: Lineup
    presence: InProcessPresence


@pytest.fixture
def desk(chat: Chat, sessions: async_sessionmaker[AsyncSession]) -> Desk:
    service = chat.service
    presence = InProcessPresence(60, on_absent=lambda _uid: asyncio.sleep(0))
    assignment = Assignment(sessions, service.bus, service.locks, presence)
    hours = BusinessHours.parse("mon-sun 00:00-24:00", "UTC")
    lineup = Lineup(sessions, service.bus, presence, hours, HandoffConfig(), assignment)
    return Desk(assignment, lineup, presence)


async def agent(sessions: async_sessionmaker[AsyncSession], name: str, limit: int = 3) -> int:
    async with sessions.begin() as session:
        user = await create_user(session, name, "a long enough password", Role.AGENT, name.title())
        user.max_open_chats = limit
        return user.id


async def waiting(chat: Chat) -> ConversationRef:
    ref, _ = await chat.service.start("en")
    await chat.service.request_handoff(ref)
    return ref


async def claimed(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> tuple[int, ConversationRef]:
    """A customer waiting for a person, claimed by Aiko; (Aiko's id, the chat)."""
    aiko = await agent(sessions, "aiko")
    ref = await waiting(chat)
    await desk.assignment.claim(aiko, ref.public_id)
    return aiko, ref


async def test_of_two_agents_claiming_at_once_exactly_one_wins(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    aiko, ben = await agent(sessions, "aiko"), await agent(sessions, "ben")
    ref = await waiting(chat)
    results = await asyncio.gather(
        desk.assignment.claim(aiko, ref.public_id),
        desk.assignment.claim(ben, ref.public_id),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, ChatError)]
    assert len(errors) == 1 and errors[0].code == "already_claimed"
    state = chat.recorder.frames("state")[-1]
    assert state["state"] == "agent" and state["agent"] in ("Aiko", "Ben")
    claimed = [e for e in chat.recorder.events if isinstance(e, AgentsNotified)]
    assert [e.frame["type"] for e in claimed] == ["claimed"]


async def test_an_agent_at_the_limit_cannot_claim_more(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    aiko = await agent(sessions, "aiko", limit=1)
    first, second = await waiting(chat), await waiting(chat)
    await desk.assignment.claim(aiko, first.public_id)
    with pytest.raises(ChatError) as refused:
        await desk.assignment.claim(aiko, second.public_id)
    assert refused.value.code == "limit_reached"


async def test_handing_back_lets_the_bot_answer_again(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    aiko, ref = await claimed(chat, desk, sessions)
    await desk.assignment.reply(aiko, ref.public_id, "a1", "Here is your label.")
    await desk.assignment.hand_back(aiko, ref.public_id)
    assert chat.recorder.frames("state")[-1]["state"] == "bot"
    await chat.service.receive(ref, "c9", "how do I return an item")
    await chat.service.drain()
    assert chat.recorder.frames("message")[-1]["role"] == "bot"


async def test_a_question_left_unanswered_at_the_hand_back_is_answered_by_the_bot(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The customer asks the agent something; the agent hands back without answering: the
    bot answers it, not only the customer's next question."""
    aiko, ref = await claimed(chat, desk, sessions)
    await desk.assignment.reply(aiko, ref.public_id, "a1", "Here is your label.")
    await chat.service.receive(ref, "c2", "how do I return an item")
    await chat.service.drain()
    assert chat.recorder.frames("message")[-1]["role"] == "customer", "the agent has it"
    await desk.assignment.hand_back(aiko, ref.public_id)
    await chat.service.drain()
    notice, answer = chat.recorder.frames("message")[-2:]
    assert notice["role"] == "system"
    assert answer["role"] == "bot" and answer["text"], answer
    assert await still_pending(sessions, ref) == [], "answered once: nothing left to sweep"


async def still_pending(
    sessions: async_sessionmaker[AsyncSession], ref: ConversationRef
) -> list[int]:
    """The seqs of the chat's messages still waiting for the bot's reply."""
    async with sessions() as session:
        pending = select(Message.seq).where(
            Message.conversation_id == ref.id, Message.reply_pending
        )
        return list(await session.scalars(pending))


async def answered_and_handed_back(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession], question: str
) -> tuple[int, ConversationRef]:
    """The customer asks, Aiko claims, answers and hands back; (Aiko's id, the chat)."""
    aiko, ref = await claimed(chat, desk, sessions)
    await chat.service.receive(ref, "c1", question)
    await desk.assignment.reply(aiko, ref.public_id, "a1", "Here is your label.")
    await desk.assignment.hand_back(aiko, ref.public_id)
    return aiko, ref


async def test_a_request_for_a_person_left_at_the_hand_back_does_not_queue_the_chat_again(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    aiko, ref = await claimed(chat, desk, sessions)
    await chat.service.receive(ref, "c2", "Can I talk to a human please?")
    await desk.assignment.hand_back(aiko, ref.public_id)
    await chat.service.drain()
    assert chat.recorder.frames("state")[-1]["state"] == "bot"
    assert chat.recorder.frames("message")[-1]["role"] == "system", "nothing after the notice"
    assert await still_pending(sessions, ref) == [], "nothing left for a recovery sweep"


async def test_after_the_agents_answer_a_hand_back_waits_for_the_next_question(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await answered_and_handed_back(chat, desk, sessions, "how do I return an item")
    await chat.service.drain()
    assert chat.recorder.frames("message")[-1]["role"] == "system", "the bot says nothing yet"


async def test_a_chat_claimed_again_after_a_hand_back_counts_its_first_reply(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The reports' first response is the agent's first reply to their claim, also when the
    customer asks for a person again after a hand-back (it showed "–", measured 0), and it
    is the agent's who gave it."""
    _aiko, ref = await answered_and_handed_back(chat, desk, sessions, "Where is my label?")
    await chat.service.request_handoff(ref)
    ken = await agent(sessions, "ken")
    await desk.assignment.claim(ken, ref.public_id)
    await desk.assignment.reply(ken, ref.public_id, "a2", "Ken here: how can I help?")
    today = datetime.now(UTC).date()
    report = await build_report(sessions, Period(today, today + timedelta(days=1), "UTC"))
    assert report.first_response.count == 1 and report.first_response.median is not None
    by_name = {f.name: f.first_response_median for f in report.agents}
    assert by_name == {"Ken": report.first_response.median, "Aiko": None}, "Ken's reply"


async def test_closing_needs_a_known_outcome_and_ends_with_the_rating_prompt(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    aiko, ref = await claimed(chat, desk, sessions)
    with pytest.raises(ChatError):
        await desk.assignment.close(aiko, ref.public_id, "solved?", [])
    await desk.assignment.close(aiko, ref.public_id, "resolved", ["Returns", " returns "])
    state = chat.recorder.frames("state")[-1]
    assert (state["state"], state["outcome"]) == ("closed", "resolved")
    assert isinstance(state["csat"], dict) and state["csat"]["open"]


async def test_an_absent_agents_conversations_go_back_to_the_queue(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    aiko, ref = await claimed(chat, desk, sessions)
    chat.recorder.events.clear()
    assert await desk.assignment.requeue_all(aiko) == [ref.public_id]
    notice = chat.recorder.frames("message")[-1]
    assert notice["role"] == "system"
    assert isinstance(chat.recorder.events[-1], QueueChanged)
    snapshot = await desk.lineup.snapshot(aiko)
    assert [w["conversation_id"] for w in snapshot["waiting"]] == [ref.public_id]


async def test_the_queue_serves_frustration_before_an_earlier_plain_request(
    chat: Chat, desk: Desk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    aiko = await agent(sessions, "aiko")
    plain = await waiting(chat)
    angry, _ = await chat.service.start("en")
    await chat.service.receive(angry, "c1", "THIS IS RIDICULOUS, worst service ever, useless bot")
    await chat.service.drain()
    snapshot = await desk.lineup.snapshot(aiko)
    order = [(w["conversation_id"], w["reason"]) for w in snapshot["waiting"]]
    assert order == [(angry.public_id, "frustration"), (plain.public_id, "customer_request")]


async def test_a_message_in_a_queued_chat_refreshes_the_consoles_but_moves_nobody(
    chat: Chat,
    desk: Desk,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With hundreds waiting, every message in a queued chat used to re-read the whole
    queue and work out every waiting customer's place again."""
    await desk.presence.connect(await agent(sessions, "aiko"), "Aiko", 3)  # places are shown
    first, second = await waiting(chat), await waiting(chat)
    chat.service.bus.listen(desk.lineup.on_event)
    await chat.service.receive(first, "c1", "are you still there?")
    assert chat.recorder.events[-1] == QueueChanged(places=False)
    reads = 0
    read_queue = _rows.queue_keys

    async def counted(session: AsyncSession) -> object:
        nonlocal reads
        reads += 1
        return await read_queue(session)

    monkeypatch.setattr(_rows, "queue_keys", counted)
    chat.recorder.events.clear()
    desk.lineup.changed_soon(places=False)
    await desk.lineup.drain()
    assert chat.recorder.events == [AgentsNotified({"type": "queue_changed"})]
    assert reads == 0
    # someone leaving the queue moves the others up: places are read and told again
    await end_chat(chat.service, first)
    await desk.lineup.drain()
    assert reads >= 1
    told = [
        dict(e.frame)
        for e in chat.recorder.events
        if isinstance(e, ConversationUpdated) and e.conversation_id == second.public_id
    ]
    assert told and told[-1].get("queue_position") == 1, "the second in line moves up"


async def test_a_slow_queue_refresh_is_followed_by_a_longer_pause(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With thousands waiting, a refresh takes a while; under a stream of handoffs the
    refreshes used to run back to back and held the server (answers took seconds)."""
    refreshes = 0
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def slow_refresh(places: bool = True) -> None:
        nonlocal refreshes
        refreshes += 1
        await real_sleep(0.05)
        if refreshes < 3:
            desk.lineup.changed_soon()  # another handoff came in meanwhile

    async def recorded_sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(desk.lineup, "refresh", slow_refresh)
    monkeypatch.setattr(asyncio, "sleep", recorded_sleep)  # the pause between refreshes
    desk.lineup.changed_soon()
    await desk.lineup.drain()
    assert refreshes == 3
    assert len(pauses) == 2
    assert all(p >= 0.05 * REFRESH_PAUSE_PER_SECOND for p in pauses), pauses


async def test_a_customers_place_is_counted_without_reading_the_queue(
    chat: Chat,
    desk: Desk,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, third = await waiting(chat), await waiting(chat), await waiting(chat)
    monkeypatch.setattr(_rows, "queue_keys", None)  # reading the whole queue would fail
    async with sessions() as session:
        places = [
            (await desk.lineup.place(session, await _rows.by_public_id(session, ref.public_id)))[0]
            for ref in (first, second, third)
        ]
    assert places == [1, 2, 3]


async def test_a_long_queue_is_refreshed_a_step_at_a_time(
    chat: Chat,
    desk: Desk,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With thousands waiting, one refresh worked out every place and sent every frame
    without letting anything else run: every customer's reply waited for it (p95 near
    half a second in a 7-minute soak at 20 messages a second). Now other work runs
    between steps, and every waiting customer is still told their new wait."""
    monkeypatch.setattr(lineup_module, "REFRESH_STEP", 3)
    await desk.presence.connect(await agent(sessions, "aiko"), "Aiko", 1)  # places are shown
    refs = [await waiting(chat) for _ in range(10)]
    chat.service.bus.listen(desk.lineup.on_event)
    await desk.lineup.refresh()
    await desk.presence.connect(await agent(sessions, "ben"), "Ben", 1)  # shorter waits
    chat.recorder.events.clear()
    ticks = 0
    refreshing = True

    async def other_work() -> None:
        nonlocal ticks
        while refreshing:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    ticks = 0
    await desk.lineup.refresh()
    refreshing = False
    await ticker
    assert ticks >= 5, "the refresh held the event loop from start to end"
    told = {
        e.conversation_id: (e.frame.get("queue_position"), e.frame.get("estimated_wait_seconds"))
        for e in chat.recorder.events
        if isinstance(e, ConversationUpdated) and e.frame.get("type") == "state"
    }
    # the first in line waits for nobody either way; everyone behind waits less now
    assert {k: place for k, (place, _) in told.items()} == {
        ref.public_id: place for place, ref in enumerate(refs[1:], 2)
    }
    waits = [cast(int, told[ref.public_id][1]) for ref in refs[1:]]
    assert waits == sorted(waits) and waits[0] < waits[-1]


async def test_a_customer_claimed_during_a_refresh_is_not_told_they_are_waiting(
    chat: Chat,
    desk: Desk,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refresh lets other work run between its steps; an agent who takes a chat then
    must not see the customer's widget go back to 'waiting, place 6'."""
    monkeypatch.setattr(lineup_module, "REFRESH_STEP", 2)
    aiko = await agent(sessions, "aiko")
    await desk.presence.connect(aiko, "Aiko", 1)
    refs = [await waiting(chat) for _ in range(6)]
    chat.service.bus.listen(desk.lineup.on_event)
    await desk.lineup.refresh()
    await desk.presence.connect(await agent(sessions, "ben"), "Ben", 1)  # waits move
    chat.recorder.events.clear()
    last = refs[-1].public_id
    real_sleep = asyncio.sleep
    claimed = False

    async def claim_meanwhile(seconds: float) -> None:
        nonlocal claimed
        if not claimed:  # the first step is done: Aiko takes the last in line
            claimed = True
            await desk.assignment.claim(aiko, last)
        await real_sleep(seconds)

    monkeypatch.setattr(asyncio, "sleep", claim_meanwhile)
    await desk.lineup.refresh()
    monkeypatch.undo()
    await desk.lineup.drain()  # the refresh the claim itself asked for
    assert claimed
    states = [
        e.frame.get("state")
        for e in chat.recorder.events
        if isinstance(e, ConversationUpdated)
        and e.conversation_id == last
        and e.frame.get("type") == "state"
    ]
    assert states == ["agent"]
    told = {
        e.conversation_id
        for e in chat.recorder.events
        if isinstance(e, ConversationUpdated) and e.frame.get("state") == "waiting"
    }
    assert told == {ref.public_id for ref in refs[1:-1]}  # the first waits for nobody
