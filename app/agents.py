"""The agents' side of conversations: presence, the queue, claiming, replying, handing back.

Everything that changes who owns a conversation goes through here, with the state machine
in `handoff.states` checked in the same transaction. Claims are a single conditional
UPDATE, so when two agents claim at once exactly one row changes and one agent wins.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.conversations import ChatError, ConversationService
from app.csat import rating
from app.events import Event, message_event, typing_event
from app.hub import Hub
from app.settings import Settings
from handoff.hours import BusinessHours
from handoff.queue import QueueEntry, estimated_wait_seconds, ordered, priority, sla_state
from handoff.states import ConversationState, IllegalTransition, check_transition
from handoff.summary import Line, summarise
from retrieval.hybrid import HybridRetriever
from storage.models import Conversation, Message, Note, User

log = logging.getLogger(__name__)

AGENTS_CHANNEL = "agents"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def notes_channel(public_id: str) -> str:
    return f"notes:{public_id}"


@dataclass
class Presence:
    user_id: int
    display_name: str
    max_open_chats: int
    status: str = "online"
    connections: int = 0
    last_assigned: float = 0.0
    grace: asyncio.Task[None] | None = field(default=None, repr=False)


class AgentService:
    """Presence, queue snapshots and every agent action on a conversation."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: Hub,
        conversations: ConversationService,
        retriever: HybridRetriever,
        settings: Settings,
        hours: BusinessHours,
    ) -> None:
        self.sessions = sessions
        self.hub = hub
        self.conversations = conversations
        self.retriever = retriever
        self.settings = settings
        self.hours = hours
        self.presence: dict[int, Presence] = {}
        self._dirty = False
        self._refresher: asyncio.Task[None] | None = None
        self._agent_locks: dict[int, asyncio.Lock] = {}
        conversations.queue_changed = self._queue_changed_hook
        conversations.availability = self.availability
        conversations.queue_position = self.queue_position

    # ------------------------------------------------------------------ presence
    def available_agents(self) -> list[Presence]:
        return [p for p in self.presence.values() if p.connections and p.status == "online"]

    def availability(self) -> tuple[bool, int]:
        """(within business hours, agents online)."""
        return self.hours.is_open(datetime.now(UTC)), len(self.available_agents())

    async def connect(self, user: User) -> Presence:
        presence = self.presence.get(user.id)
        if presence is None:
            presence = self.presence[user.id] = Presence(
                user.id, user.display_name, user.max_open_chats
            )
        if presence.grace is not None:
            presence.grace.cancel()
            presence.grace = None
        presence.connections += 1
        presence.status = "online"
        self.queue_changed_soon()
        return presence

    async def disconnect(self, user_id: int) -> None:
        presence = self.presence.get(user_id)
        if presence is None:
            return
        presence.connections = max(0, presence.connections - 1)
        if presence.connections == 0:
            presence.grace = asyncio.create_task(self._grace_expired(user_id))
        self.queue_changed_soon()

    async def set_status(self, user_id: int, status: str) -> None:
        if status not in ("online", "away"):
            raise ChatError("invalid_field", "'status' must be 'online' or 'away'")
        self.presence[user_id].status = status
        self.queue_changed_soon()

    async def _grace_expired(self, user_id: int) -> None:
        await asyncio.sleep(self.settings.agent_grace_seconds)
        presence = self.presence.get(user_id)
        if presence is None or presence.connections:
            return
        presence.grace = None
        await self.requeue_all(user_id)

    async def requeue_all(self, user_id: int) -> list[str]:
        """Put an absent agent's conversations back in the queue (no owner is ever absent)."""
        async with self.sessions() as session:
            ids = list(
                await session.scalars(
                    select(Conversation.public_id).where(
                        Conversation.agent_id == user_id,
                        Conversation.state == ConversationState.AGENT.value,
                    )
                )
            )
        for public_id in ids:
            async with self.sessions.begin() as session:
                conversation = await self._by_public_id(session, public_id, lock=True)
                if (
                    conversation.state != ConversationState.AGENT
                    or conversation.agent_id != user_id
                ):
                    continue
                conversation.state = ConversationState.WAITING.value
                conversation.agent_id = None
                notice = await self.conversations.notice(
                    session, conversation, "agent_disconnected"
                )
                events = [message_event(notice)]
            await self._publish(public_id, events)
        if ids:
            self.queue_changed_soon()
        return ids

    # ------------------------------------------------------------------ queue
    async def _waiting(self, session: AsyncSession) -> tuple[list[Conversation], list[QueueEntry]]:
        """Every waiting conversation, and the queue in service order."""
        waiting = list(
            await session.scalars(
                select(Conversation).where(Conversation.state == ConversationState.WAITING.value)
            )
        )
        now = datetime.now(UTC)
        entries = ordered(
            [
                QueueEntry(
                    c.public_id,
                    c.escalation_reason or "customer_request",
                    _aware(c.escalated_at) or now,
                )
                for c in waiting
            ],
            now,
            self.settings.queue_aging_per_minute,
        )
        return waiting, entries

    async def queue_position(
        self, session: AsyncSession, conversation: Conversation
    ) -> tuple[int, int]:
        """The customer's place in the queue and estimated wait in seconds."""
        _, queue = await self._waiting(session)
        position = next(
            (i for i, e in enumerate(queue, 1) if e.conversation_id == conversation.public_id),
            len(queue),
        )
        return position, self._wait(position, await self._free_capacity(session))

    async def _free_capacity(self, session: AsyncSession) -> int:
        """Chats the online agents can still take."""
        free = 0
        for presence in self.available_agents():
            open_chats = await self._open_chats(session, presence.user_id)
            free += max(0, presence.max_open_chats - open_chats)
        return free

    def _wait(self, position: int, free: int) -> int:
        return estimated_wait_seconds(position, max(1, free), self.settings.average_handle_seconds)

    async def snapshot(self, user_id: int) -> Event:
        """The queue as one agent sees it."""
        now = datetime.now(UTC)
        async with self.sessions() as session:
            waiting, entries = await self._waiting(session)
            mine = list(
                await session.scalars(
                    select(Conversation).where(
                        Conversation.agent_id == user_id,
                        Conversation.state == ConversationState.AGENT.value,
                    )
                )
            )
            previews = await self._previews(session, [c.id for c in waiting + mine])
            unread = await self._unanswered(session, [c.id for c in mine])
            counts = {}
            for presence in list(self.presence.values()):  # may grow while we await
                counts[presence.user_id] = await self._open_chats(session, presence.user_id)
        by_id = {c.public_id: c for c in waiting}
        targets = self.settings.sla_targets
        return {
            "type": "queue",
            "waiting": [
                {
                    "conversation_id": e.conversation_id,
                    "reason": e.reason,
                    "priority": round(
                        priority(e.reason, e.waited(now), self.settings.queue_aging_per_minute), 1
                    ),
                    "lang": by_id[e.conversation_id].lang,
                    "waiting_seconds": int(e.waited(now)),
                    "sla": sla_state(e.reason, e.waited(now), targets).value,
                    "sla_target_seconds": targets.get(e.reason),
                    "preview": previews.get(by_id[e.conversation_id].id, ""),
                    "offline": by_id[e.conversation_id].offline,
                    "contact_email": by_id[e.conversation_id].contact_email,
                }
                for e in entries
            ],
            "mine": [
                {
                    "conversation_id": c.public_id,
                    "state": c.state,
                    "lang": c.lang,
                    "preview": previews.get(c.id, ""),
                    "unread": unread.get(c.id, 0),
                }
                for c in mine
            ],
            "agents": [
                {
                    "id": p.user_id,
                    "display_name": p.display_name,
                    "presence": p.status if p.connections else "offline",
                    "open_chats": counts.get(p.user_id, 0),
                }
                for p in self.presence.values()
            ],
            "open": self.hours.is_open(now),
        }

    async def _queue_changed_hook(self) -> None:
        self.queue_changed_soon()

    def queue_changed_soon(self) -> None:
        """Schedule a queue refresh in the background; bursts of changes coalesce.

        It runs outside the caller's task, so a websocket closing mid-refresh cannot
        cancel a database call halfway.
        """
        self._dirty = True
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh())

    async def _refresh(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                await self.queue_changed()
            except Exception:
                log.exception("queue refresh failed")

    async def drain(self) -> None:
        """Wait for the queue refresh and cancel grace timers (at shutdown)."""
        while self._refresher is not None and not self._refresher.done():
            await asyncio.gather(self._refresher, return_exceptions=True)
        for presence in self.presence.values():
            if presence.grace is not None:
                presence.grace.cancel()

    async def queue_changed(self) -> None:
        """Tell agents to refresh, move waiting customers' positions, maybe auto-assign."""
        if self.settings.auto_assign:
            await self._auto_assign()
        await self.hub.publish(AGENTS_CHANNEL, {"type": "queue_changed"})
        async with self.sessions() as session:
            waiting, entries = await self._waiting(session)
            free = await self._free_capacity(session)
            positions = {e.conversation_id: n for n, e in enumerate(entries, 1)}
            events = []
            for c in waiting:  # the queue is read once, not once per waiting customer
                place = positions[c.public_id]
                event = await self.conversations.state_event(
                    session, c, place=(place, self._wait(place, free))
                )
                events.append((c.public_id, event))
        for public_id, event in events:
            await self.hub.publish(f"conversation:{public_id}", event)

    async def _auto_assign(self) -> None:
        async with self.sessions() as session:
            _, queue = await self._waiting(session)
        for entry in queue:
            candidates = []
            async with self.sessions() as session:
                for presence in self.available_agents():
                    if await self._open_chats(session, presence.user_id) < presence.max_open_chats:
                        candidates.append(presence)
            if not candidates:
                return
            chosen = min(candidates, key=lambda p: p.last_assigned)  # round robin
            try:
                await self.claim(chosen.user_id, entry.conversation_id, notify=False)
            except ChatError:
                continue
            chosen.last_assigned = asyncio.get_running_loop().time()

    # ------------------------------------------------------------------ context
    async def context(self, public_id: str, last_seq: int | None = None) -> Event:
        """Everything an agent needs to take over: transcript, notes, why, summary, articles."""
        async with self.sessions() as session:
            conversation = await self._by_public_id(session, public_id)
            rows = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation.id)
                    .order_by(Message.seq)
                )
            )
            notes = list(
                await session.scalars(
                    select(Note).where(Note.conversation_id == conversation.id).order_by(Note.id)
                )
            )
            owner = (
                await session.get(User, conversation.agent_id) if conversation.agent_id else None
            )
        lines = [
            Line(m.role, m.text, m.kind, m.citations or [], m.helpful, m.confidence) for m in rows
        ]
        customer_text = "\n".join(m.text for m in rows if m.role == "customer")[-2000:]
        suggestions = []
        if customer_text.strip():
            result = await asyncio.to_thread(
                self.retriever.retrieve, customer_text, lang=conversation.lang, k=3
            )
            suggestions = [
                {
                    "article_id": a.article_id,
                    "title": a.title,
                    "url": a.url,
                    "excerpt": a.passages[0].text[:600] if a.passages else "",
                    "score": a.score,
                }
                for a in result.articles
            ]
        after = last_seq or 0
        return {
            "type": "conversation",
            "conversation_id": public_id,
            "state": conversation.state,
            "lang": conversation.lang,
            "agent": owner.display_name if owner else None,
            "agent_id": conversation.agent_id,
            "reason": conversation.escalation_reason,
            "scores": conversation.escalation_scores or {},
            "summary": summarise(
                lines, conversation.escalation_reason, conversation.escalation_scores
            ),
            "suggestions": suggestions,
            "messages": [
                {**message_event(m), "conversation_id": public_id} for m in rows if m.seq > after
            ],
            "notes": [note_event(n, public_id) for n in notes],
            "contact": {
                "email": conversation.contact_email,
                "message": conversation.contact_message,
            },
            "outcome": conversation.outcome,
            "tags": conversation.tags or [],
            "csat": rating(conversation),
        }

    # ------------------------------------------------------------------ actions
    async def claim(self, user_id: int, public_id: str, notify: bool = True) -> None:
        """Take a waiting conversation; exactly one of several simultaneous claims wins."""
        # The agent's lock keeps two claims of different conversations from both passing
        # the open-chats limit; the conversation's lock orders it with customer messages.
        async with (
            self._agent_lock(user_id),
            self.conversations.lock_for(public_id),
            self.sessions.begin() as session,
        ):
            # the row lock does for several servers what the agent's lock does in one
            user = await session.get_one(User, user_id, with_for_update=True)
            conversation = await self._by_public_id(session, public_id)
            if await self._open_chats(session, user_id) >= user.max_open_chats:
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
            notice = await self.conversations.notice(
                session, conversation, "agent_joined_named", name=user.display_name
            )
            events = [message_event(notice), self._state(conversation, user.display_name)]
        await self._publish(public_id, events)
        await self.hub.publish(
            AGENTS_CHANNEL,
            {
                "type": "claimed",
                "conversation_id": public_id,
                "user_id": user_id,
                "auto": not notify,
            },
        )
        if notify:
            self.queue_changed_soon()
        else:
            await self.hub.publish(AGENTS_CHANNEL, {"type": "queue_changed"})

    async def reply(self, user_id: int, public_id: str, client_id: str, text: str) -> Event:
        async with self.conversations.lock_for(public_id), self.sessions.begin() as session:
            conversation = await self._owned(session, public_id, user_id)
            existing = await session.scalar(
                select(Message).where(
                    Message.conversation_id == conversation.id, Message.client_id == client_id
                )
            )
            if existing is not None:
                return {**message_event(existing), "conversation_id": public_id}
            user = await session.get_one(User, user_id)
            message = await self.conversations.append(
                session,
                conversation,
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
            event = message_event(message)
        await self._publish(public_id, [event])
        self.queue_changed_soon()  # the conversation's unanswered count is back to 0
        return {**event, "conversation_id": public_id}

    async def note(self, user_id: int, public_id: str, text: str) -> Event:
        async with self.sessions.begin() as session:
            conversation = await self._by_public_id(session, public_id)
            user = await session.get_one(User, user_id)
            note = Note(
                conversation_id=conversation.id,
                author_id=user_id,
                author=user.display_name,
                text=text,
            )
            session.add(note)
            await session.flush()
            event = note_event(note, public_id)
        await self.hub.publish(notes_channel(public_id), event)
        return event

    async def typing(self, user_id: int, public_id: str, typing: bool) -> None:
        async with self.sessions() as session:
            await self._owned(session, public_id, user_id)
        await self.hub.publish(f"conversation:{public_id}", typing_event("agent", typing))

    async def transfer(self, user_id: int, public_id: str, to_user_id: int) -> None:
        presence = self.presence.get(to_user_id)
        if presence is None or not presence.connections:
            raise ChatError("agent_offline", "that agent is not connected: pick someone online")
        async with (
            self._agent_lock(to_user_id),
            self.conversations.lock_for(public_id),
            self.sessions.begin() as session,
        ):
            conversation = await self._owned(session, public_id, user_id, admin_ok=True)
            target = await session.get(User, to_user_id, with_for_update=True)
            if target is None or not target.is_active or target.role not in ("agent", "admin"):
                raise ChatError("invalid_field", "transfer to an active agent")
            if await self._open_chats(session, to_user_id) >= target.max_open_chats:
                raise ChatError(
                    "limit_reached",
                    f"{target.display_name} already has {target.max_open_chats} open chats",
                )
            conversation.agent_id = to_user_id
            notice = await self.conversations.notice(
                session, conversation, "agent_joined_named", name=target.display_name
            )
            events = [message_event(notice), self._state(conversation, target.display_name)]
        await self._publish(public_id, events)
        self.queue_changed_soon()

    async def hand_back(self, user_id: int, public_id: str) -> None:
        """Back to the bot: the customer is told, and the bot answers the next question."""
        await self._finish(user_id, public_id, ConversationState.BOT, "handed_back")

    async def close(self, user_id: int, public_id: str, outcome: str, tags: Sequence[str]) -> None:
        if outcome not in ("resolved", "not_resolved"):
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

    async def _finish(
        self,
        user_id: int,
        public_id: str,
        target: ConversationState,
        notice_key: str,
        **fields: Any,
    ) -> None:
        async with self.conversations.lock_for(public_id), self.sessions.begin() as session:
            conversation = await self._by_public_id(session, public_id, lock=True)
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
            notice = await self.conversations.notice(session, conversation, notice_key)
            # the customer's state: a closed one carries the rating prompt (app.csat)
            events = [
                message_event(notice),
                await self.conversations.state_event(session, conversation),
            ]
        await self._publish(public_id, events)
        self.queue_changed_soon()

    # ------------------------------------------------------------------ helpers
    def _agent_lock(self, user_id: int) -> asyncio.Lock:
        return self._agent_locks.setdefault(user_id, asyncio.Lock())

    async def _publish(self, public_id: str, events: Sequence[Event]) -> None:
        for event in events:
            await self.hub.publish(f"conversation:{public_id}", event)

    @staticmethod
    def _state(conversation: Conversation, agent_name: str | None) -> Event:
        return {
            "type": "state",
            "state": conversation.state,
            "reason": conversation.escalation_reason,
            "agent": agent_name,
        }

    async def _by_public_id(
        self, session: AsyncSession, public_id: str, lock: bool = False
    ) -> Conversation:
        query = select(Conversation).where(Conversation.public_id == public_id)
        if lock:
            query = query.with_for_update()
        conversation = await session.scalar(query)
        if conversation is None:
            raise ChatError("unknown_conversation", f"no conversation {public_id!r}")
        return conversation

    async def _owned(
        self, session: AsyncSession, public_id: str, user_id: int, admin_ok: bool = False
    ) -> Conversation:
        conversation = await self._by_public_id(session, public_id, lock=True)
        if conversation.state != ConversationState.AGENT:
            raise ChatError(
                "not_claimed", f"the conversation is {conversation.state}: claim it first"
            )
        if conversation.agent_id != user_id:
            user = await session.get(User, user_id)
            if not (admin_ok and user is not None and user.role == "admin"):
                raise ChatError("not_owner", "another agent owns this conversation")
        return conversation

    @staticmethod
    async def _open_chats(session: AsyncSession, user_id: int) -> int:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.agent_id == user_id,
                    Conversation.state == ConversationState.AGENT.value,
                )
            )
            or 0
        )

    @staticmethod
    async def _unanswered(session: AsyncSession, ids: list[int]) -> dict[int, int]:
        """Customer messages since the agent's last reply (or since the claim, before one)."""
        if not ids:
            return {}
        replied = (
            select(Message.conversation_id, func.max(Message.seq).label("seq"))
            .where(Message.conversation_id.in_(ids), Message.role == "agent")
            .group_by(Message.conversation_id)
            .subquery()
        )
        rows = await session.execute(
            select(Message.conversation_id, func.count())
            .join(Conversation, Conversation.id == Message.conversation_id)
            .outerjoin(replied, replied.c.conversation_id == Message.conversation_id)
            .where(
                Message.conversation_id.in_(ids),
                Message.role == "customer",
                Message.seq > func.coalesce(replied.c.seq, 0),
                Message.created_at >= Conversation.claimed_at,
            )
            .group_by(Message.conversation_id)
        )
        return {cid: int(count) for cid, count in rows.all()}

    @staticmethod
    async def _previews(session: AsyncSession, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        latest = (
            select(Message.conversation_id, func.max(Message.seq).label("seq"))
            .where(
                Message.conversation_id.in_(ids),
                Message.role == "customer",
            )
            .group_by(Message.conversation_id)
            .subquery()
        )
        rows = await session.execute(
            select(Message.conversation_id, Message.text).join(
                latest,
                (Message.conversation_id == latest.c.conversation_id)
                & (Message.seq == latest.c.seq),
            )
        )
        return {cid: text[:140] for cid, text in rows.all()}


def note_event(note: Note, public_id: str) -> Event:
    return {
        "type": "note",
        "conversation_id": public_id,
        "id": note.id,
        "author": note.author,
        "text": note.text,
        # SQLite hands back naive datetimes; they were stored in UTC
        "created_at": note.created_at.replace(tzinfo=note.created_at.tzinfo or UTC).isoformat(),
    }


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
