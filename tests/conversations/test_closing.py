"""Ending a chat and rating it, on the service alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from conversations.closing import end_chat, rate
from conversations.errors import ChatError
from storage.models import Conversation
from tests.conversations.conftest import Chat

pytestmark = pytest.mark.anyio


async def test_ending_closes_the_chat_and_asks_for_a_rating(chat: Chat) -> None:
    ref, _ = await chat.service.start("ja")
    await end_chat(chat.service, ref)
    state = chat.recorder.frames("state")[-1]
    assert (state["state"], state["outcome"]) == ("closed", "customer_ended")
    csat = state["csat"]
    assert isinstance(csat, dict) and csat["open"] and not csat["rated"]
    assert csat["texts"]["question"]  # in the conversation's language
    await end_chat(chat.service, ref)  # again: only the state is repeated
    assert len(chat.recorder.frames("message")) == 1


async def test_a_rating_is_acknowledged_and_can_be_changed(chat: Chat) -> None:
    ref, _ = await chat.service.start("en")
    with pytest.raises(ChatError) as early:
        await rate(chat.service, ref, 5, None)
    assert early.value.code == "not_closed"
    await end_chat(chat.service, ref)
    await rate(chat.service, ref, 2, "slow")
    await rate(chat.service, ref, 4, None)
    rated = chat.recorder.frames("rated")
    assert [(r["score"], r["comment"]) for r in rated] == [(2, "slow"), (4, None)]


async def test_after_a_day_the_rating_is_final(chat: Chat) -> None:
    ref, _ = await chat.service.start("en")
    await end_chat(chat.service, ref)
    async with chat.service.sessions.begin() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == ref.id)
            .values(closed_at=datetime.now(UTC) - timedelta(hours=25))
        )
    with pytest.raises(ChatError) as late:
        await rate(chat.service, ref, 5, None)
    assert late.value.code == "rating_closed"
