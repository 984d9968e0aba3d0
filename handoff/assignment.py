"""Who has a conversation: claim, reply, notes, transfer, hand back, close, requeue.

Everything that changes who owns a conversation goes through here, with the state machine
in `handoff.states` checked in the same transaction. Claims are a single conditional
UPDATE, so when two agents claim at once exactly one row changes and one agent wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attachments.service import StoredFile
from conversations import transcript
from conversations.attaching import append_with_files
from conversations.csat import csat_state
from conversations.errors import ChatError
from conversations.frames import message_frame, note_frame, state_frame, typing_frame
from delivery.events import (
    AgentsNotified,
    ConversationUpdated,
    DomainEvent,
    EventBus,
    MessageFrame,
    NoteAdded,
    NoteFrame,
    QueueChanged,
    ReplyOwed,
)
from delivery.locks import Locks
from delivery.presence import PresenceStore
from handoff import _rows
from handoff.states import ConversationState, IllegalTransition, check_transition
from storage.models import Conversation, Note, User

OUTCOMES = ("resolved", "not_resolved")


class Assignment:
    """Every agent action on a conversation."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        locks: Locks,
        presence: PresenceStore,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.locks = locks
        self.presence = presence

    async def claim(self, user_id: int, public_id: str, *, auto: bool = False) -> None:
        """Take a waiting conversation; exactly one of several simultaneous claims wins."""
        # The agent's lock keeps two claims of different conversations from both passing
        # the open-chats limit; the conversation's lock orders it with customer messages.
        async with (
            self.locks.hold(f"agent:{user_id}"),
            self.locks.hold(public_id),
            self.sessions.begin() as session,
        ):
            # the row lock does for several servers what the agent's lock does in one
            user = await session.get_one(User, user_id, with_for_update=True)
            conversation = await _rows.by_public_id(session, public_id)
            if await _rows.open_chats(session, user_id) >= user.max_open_chats:
                raise ChatError(
                    "limit_reached", f"you already have {user.max_open_chats} open chats"
                )
            changed = await session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conversation.id,
                    Conversation.state == ConversationState.WAITING.value,
                )
                .values(
                    state=ConversationState.AGENT.value,
                    agent_id=user_id,
                    claimed_at=datetime.now(UTC),
                    # the first reply of this claim: a chat handed back and claimed again
                    # kept the earlier claim's, before its claim, and fell out of the reports
                    first_response_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                await session.refresh(conversation)
                owner = (
                    await session.get(User, conversation.agent_id)
                    if conversation.agent_id
                    else None
                )
                who = f" by {owner.display_name}" if owner else ""
                raise ChatError(
                    "already_claimed", f"this conversation is {conversation.state}{who}"
                )
            await session.refresh(conversation)
            events = await self._joined(session, conversation, user.display_name)
        claimed = AgentsNotified(
            {"type": "claimed", "conversation_id": public_id, "user_id": user_id, "auto": auto}
        )
        # an automatic claim comes from a queue refresh, which must not schedule another
        after = AgentsNotified({"type": "queue_changed"}) if auto else QueueChanged()
        await self.bus.emit(*events, claimed, after)

    async def reply(
        self,
        user_id: int,
        public_id: str,
        client_id: str,
        text: str,
        files: Sequence[StoredFile] = (),
    ) -> MessageFrame:
        """The owner's reply to the customer, with the files it carries (checked and stored)."""
        async with self.locks.hold(public_id), self.sessions.begin() as session:
            conversation = await self._owned(session, public_id, user_id)
            existing = await transcript.by_client_id(session, conversation.id, client_id)
            if existing is not None:
                return message_frame(existing)
            user = await session.get_one(User, user_id)
            message = await append_with_files(
                session,
                conversation,
                files,
                role="agent",
                kind="text",
                text=text,
                client_id=client_id,
                author=user.display_name,
                author_id=user_id,
                lang=conversation.lang,
            )
            if conversation.first_response_at is None:
                conversation.first_response_at = datetime.now(UTC)
            frame = message_frame(message)
        # the conversation's unanswered count is back to 0
        await self.bus.emit(ConversationUpdated(public_id, frame), QueueChanged())
        return frame

    async def note(self, user_id: int, public_id: str, text: str) -> NoteFrame:
        async with self.sessions.begin() as session:
            conversation = await _rows.by_public_id(session, public_id)
            user = await session.get_one(User, user_id)
            note = Note(
                conversation_id=conversation.id,
                author_id=user_id,
                author=user.display_name,
                text=text,
            )
            session.add(note)
            await session.flush()
            frame = note_frame(note, public_id)
        await self.bus.emit(NoteAdded(public_id, frame))
        return frame

    async def typing(self, user_id: int, public_id: str, typing: bool) -> None:
        async with self.sessions() as session:
            await self._owned(session, public_id, user_id)
        await self.bus.emit(ConversationUpdated(public_id, typing_frame("agent", typing)))

    async def transfer(self, user_id: int, public_id: str, to_user_id: int) -> None:
        if not any(p.user_id == to_user_id and p.connections for p in await self.presence.agents()):
            raise ChatError("agent_offline", "that agent is not connected: pick someone online")
        async with (
            self.locks.hold(f"agent:{to_user_id}"),
            self.locks.hold(public_id),
            self.sessions.begin() as session,
        ):
            conversation = await self._owned(session, public_id, user_id, admin_ok=True)
            target = await session.get(User, to_user_id, with_for_update=True)
            if target is None or not target.is_active or target.role not in ("agent", "admin"):
                raise ChatError("invalid_field", "transfer to an active agent")
            if await _rows.open_chats(session, to_user_id) >= target.max_open_chats:
                raise ChatError(
                    "limit_reached",
                    f"{target.display_name} already has {target.max_open_chats} open chats",
                )
            conversation.agent_id = to_user_id
            events = await self._joined(session, conversation, target.display_name)
        await self.bus.emit(*events, QueueChanged())

    async def hand_back(self, user_id: int, public_id: str) -> None:
        """Back to the bot: the customer is told, and the bot answers the next question (and
        the last one, if the customer asked it and nobody answered)."""
        await self._finish(user_id, public_id, ConversationState.BOT, "handed_back")

    async def close(self, user_id: int, public_id: str, outcome: str, tags: Sequence[str]) -> None:
        if outcome not in OUTCOMES:
            raise ChatError("invalid_field", "'outcome' must be 'resolved' or 'not_resolved'")
        clean = sorted({t.strip().lower() for t in tags if t.strip()})[:20]
        await self._finish(
            user_id,
            public_id,
            ConversationState.CLOSED,
            "conversation_closed",
            outcome=outcome,
            tags=clean,
        )

    async def requeue_all(self, user_id: int) -> list[str]:
        """Put an absent agent's conversations back in the queue (no owner is ever absent)."""
        async with self.sessions() as session:
            ids = [c.public_id for c in await _rows.owned_by(session, user_id)]
        for public_id in ids:
            async with self.locks.hold(public_id), self.sessions.begin() as session:
                conversation = await _rows.by_public_id(session, public_id, lock=True)
                if (
                    conversation.state != ConversationState.AGENT
                    or conversation.agent_id != user_id
                ):
                    continue
                conversation.state = ConversationState.WAITING.value
                conversation.agent_id = None
                notice = await transcript.notice(session, conversation, "agent_disconnected")
                frame = message_frame(notice)
            await self.bus.emit(ConversationUpdated(public_id, frame))
        if ids:
            await self.bus.emit(QueueChanged())
        return ids

    # ------------------------------------------------------------------ helpers
    async def _finish(
        self,
        user_id: int,
        public_id: str,
        target: ConversationState,
        notice_key: str,
        **fields: Any,
    ) -> None:
        async with self.locks.hold(public_id), self.sessions.begin() as session:
            conversation = await _rows.by_public_id(session, public_id, lock=True)
            user = await session.get_one(User, user_id)
            if (
                conversation.state == ConversationState.AGENT
                and conversation.agent_id != user_id
                and user.role != "admin"
            ):
                raise ChatError("not_owner", "another agent owns this conversation")
            try:
                check_transition(ConversationState(conversation.state), target)
            except IllegalTransition as exc:
                raise ChatError("illegal_transition", str(exc)) from None
            conversation.state = target.value
            conversation.agent_id = (
                None if target == ConversationState.BOT else conversation.agent_id
            )
            conversation.consecutive_misses = 0
            if target == ConversationState.CLOSED:
                conversation.closed_at = datetime.now(UTC)
            for name, value in fields.items():
                setattr(conversation, name, value)
            notice = await transcript.notice(session, conversation, notice_key)
            owed = (
                await transcript.owe_reply(session, conversation)
                if target == ConversationState.BOT
                else None
            )
            # the customer's state: a closed one carries the rating prompt
            csat = csat_state(conversation) if target == ConversationState.CLOSED else None
            owner = (
                await session.get(User, conversation.agent_id)
                if target == ConversationState.CLOSED and conversation.agent_id
                else None
            )
            state = state_frame(
                conversation, agent=owner.display_name if owner else None, csat=csat
            )
        await self.bus.emit(
            ConversationUpdated(public_id, message_frame(notice)),
            ConversationUpdated(public_id, state),
            QueueChanged(),
        )
        if owed is not None:  # asked of the agent, answered by nobody: the bot answers it
            await self.bus.emit(ReplyOwed(conversation.id, public_id, owed.seq, owed.text))

    @staticmethod
    async def _joined(
        session: AsyncSession, conversation: Conversation, agent: str
    ) -> list[DomainEvent]:
        """The notice and state the customer sees when an agent takes the conversation."""
        notice = await transcript.notice(session, conversation, "agent_joined_named", name=agent)
        public_id = conversation.public_id
        return [
            ConversationUpdated(public_id, message_frame(notice)),
            ConversationUpdated(public_id, state_frame(conversation, agent=agent)),
        ]

    @staticmethod
    async def _owned(
        session: AsyncSession, public_id: str, user_id: int, admin_ok: bool = False
    ) -> Conversation:
        conversation = await _rows.by_public_id(session, public_id, lock=True)
        if conversation.state != ConversationState.AGENT:
            raise ChatError(
                "not_claimed", f"the conversation is {conversation.state}: claim it first"
            )
        if conversation.agent_id != user_id:
            user = await session.get(User, user_id)
            if not (admin_ok and user is not None and user.role == "admin"):
                raise ChatError("not_owner", "another agent owns this conversation")
        return conversation
