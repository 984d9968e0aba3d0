"""The queue as agents and waiting customers see it, kept fresh as it changes.

`Lineup` answers the customers' side's questions (`conversations.ports.QueueInfo`: can
a person answer now, what is my place), builds each agent's queue snapshot, and listens
for `QueueChanged`: bursts of changes coalesce into one refresh that tells consoles to
reload, moves waiting customers' positions and, when set, assigns round robin.

A refresh tells a waiting customer their state only when it differs from the last state
they were told (by a refresh or anything else on the bus), and refreshes under a burst
of changes run at most every `REFRESH_EVERY_SECONDS`: with hundreds waiting, every
handoff used to send every waiting customer the same frame again. With thousands waiting a
refresh itself takes a while: it works through the queue `REFRESH_STEP` customers at a
time, letting the server answer others in between, and the pause after it grows with it
(`REFRESH_PAUSE_PER_SECOND`). A customer who stops waiting while a refresh runs (an
agent took the chat) is not sent the refresh's stale place. A customer's own place, when
they are queued or come back, is one count in the database (`queue.served_before`), never
the whole queue.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.errors import ChatError
from conversations.frames import waiting_frame
from conversations.ports import Availability
from delivery.events import (
    AgentsNotified,
    ConversationUpdated,
    DomainEvent,
    EventBus,
    QueueChanged,
    StateFrame,
)
from delivery.presence import AgentPresence, PresenceStore
from handoff import _rows
from handoff.assignment import Assignment
from handoff.config import HandoffConfig
from handoff.hours import BusinessHours
from handoff.queue import (
    QueueEntry,
    estimated_wait_seconds,
    ordered,
    priority,
    served_before,
    sla_state,
)
from handoff.reasons import HandoffReason
from storage.engine import one_snapshot
from storage.models import Conversation

log = logging.getLogger(__name__)

REFRESH_EVERY_SECONDS = 0.2  # under a burst of changes; a lone change is refreshed at once
REFRESH_PAUSE_PER_SECOND = 9  # ...or 9 s for each second the last refresh took: <= 10 %
# waiting customers a refresh works through (frames built, then frames sent) before it lets
# the event loop serve others: thousands waiting held every reply for a whole refresh
REFRESH_STEP = 256


class Lineup:
    """Queue order, positions and wait estimates, snapshots, refreshes, auto-assignment."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        presence: PresenceStore,
        hours: BusinessHours,
        config: HandoffConfig,
        assignment: Assignment,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.presence = presence
        self.hours = hours
        self.config = config
        self.assignment = assignment
        self._dirty = False
        self._places_dirty = False
        self._refresher: asyncio.Task[None] | None = None
        self._told: dict[str, dict[str, Any]] = {}  # waiting customers' last state frame
        # per refresh under way: the customers sent a state frame meanwhile; those among
        # them who stopped waiting (claimed, closed) get nothing from that refresh
        self._told_meanwhile: list[set[str]] = []

    # ------------------------------------------------------------------ QueueInfo
    async def availability(self) -> Availability:
        online = sum(1 for p in await self.presence.agents() if p.available)
        now = datetime.now(UTC)
        is_open = self.hours.is_open(now)
        return Availability(
            is_open,
            online,
            self.config.hours_label,
            next_opening=None if is_open else self.hours.next_opening(now),
            weekly=self.hours.spans(),
            timezone=self.hours.timezone.key,
        )

    async def place(self, session: AsyncSession, conversation: Conversation) -> tuple[int, int]:
        """The customer's place in the queue and estimated wait in seconds (one count, not
        the whole queue read and sorted: this runs for every handoff)."""
        now = datetime.now(UTC)
        cutoffs = served_before(
            conversation.escalation_reason or HandoffReason.CUSTOMER_REQUEST,
            conversation.escalated_at or now,
            self.config.queue_aging_per_minute,
        )
        ahead = await _rows.waiting_ahead(session, conversation.public_id, cutoffs, now)
        position = ahead + 1
        return position, self._wait(position, await self._free_capacity(session))

    # ------------------------------------------------------------------ reading the queue
    async def _queue(self, session: AsyncSession) -> list[QueueEntry]:
        """The queue in service order (read without loading the conversations)."""
        return self._ordered(await _rows.queue_keys(session))

    def _ordered(self, keys: list[tuple[str, str | None, datetime | None]]) -> list[QueueEntry]:
        now = datetime.now(UTC)
        entries = [
            QueueEntry(public_id, reason or HandoffReason.CUSTOMER_REQUEST, at or now)
            for public_id, reason, at in keys
        ]
        return ordered(entries, now, self.config.queue_aging_per_minute)

    async def _available(self) -> list[AgentPresence]:
        return [p for p in await self.presence.agents() if p.available]

    async def _free_capacity(self, session: AsyncSession) -> int:
        """Chats the online agents can still take."""
        available = await self._available()
        if not available:
            return 0
        counts = await _rows.open_chats_by_agent(session)  # one query, not one per agent
        return sum(max(0, a.max_open_chats - counts.get(a.user_id, 0)) for a in available)

    def _wait(self, position: int, free: int) -> int:
        return estimated_wait_seconds(position, max(1, free), self.config.average_handle_seconds)

    async def snapshot(self, user_id: int) -> dict[str, Any]:
        """The queue as one agent sees it."""
        now = datetime.now(UTC)
        agents = await self.presence.agents()
        async with one_snapshot(self.sessions) as session:  # previews match their counts
            # the whole queue's order from its keys; whole rows only for the first ones
            # (a console lists those; thousands waiting made every update load them all)
            queue = await self._queue(session)
            shown = queue[: self.config.console_waiting_shown]
            waiting = await _rows.waiting_among(session, [e.conversation_id for e in shown])
            mine = await _rows.owned_by(session, user_id)
            previews = await _rows.previews(session, [c.id for c in waiting + mine])
            unread = await _rows.unanswered(session, [c.id for c in mine])
            counts = await _rows.open_chats_by_agent(session)
        by_id = {c.public_id: c for c in waiting}
        # (one taken between the two reads is left out)
        entries = [e for e in shown if e.conversation_id in by_id]
        targets = self.config.sla_targets
        aging = self.config.queue_aging_per_minute
        return {
            "type": "queue",
            "waiting": [
                {
                    "conversation_id": e.conversation_id,
                    "reason": e.reason,
                    "priority": round(priority(e.reason, e.waited(now), aging), 1),
                    "lang": by_id[e.conversation_id].lang,
                    "waiting_seconds": int(e.waited(now)),
                    "sla": sla_state(e.reason, e.waited(now), targets).value,
                    "sla_target_seconds": targets.get(e.reason),
                    "preview": previews.get(by_id[e.conversation_id].id, ""),
                    "offline": by_id[e.conversation_id].offline,
                    "contact_email": by_id[e.conversation_id].contact_email,
                    "channel": by_id[e.conversation_id].channel,
                    "customer_email": by_id[e.conversation_id].customer_email,
                }
                for e in entries
            ],
            "waiting_total": len(queue) - (len(shown) - len(entries)),
            "mine": [
                {
                    "conversation_id": c.public_id,
                    "state": c.state,
                    "lang": c.lang,
                    "preview": previews.get(c.id, ""),
                    "unread": unread.get(c.id, 0),
                    "channel": c.channel,
                    "customer_email": c.customer_email,
                }
                for c in mine
            ],
            "agents": [
                {
                    "id": a.user_id,
                    "display_name": a.display_name,
                    "presence": a.shown,
                    "open_chats": counts.get(a.user_id, 0),
                }
                for a in agents
            ],
            "open": self.hours.is_open(now),
        }

    # ------------------------------------------------------------------ keeping it fresh
    async def on_event(self, event: DomainEvent) -> None:
        """The bus listener: a change to the queue schedules a refresh; a waiting
        customer's state, from wherever it came, is what they were last told."""
        if isinstance(event, QueueChanged):
            self.changed_soon(places=event.places)
        elif isinstance(event, ConversationUpdated) and event.frame.get("type") == "state":
            for meanwhile in self._told_meanwhile:
                meanwhile.add(event.conversation_id)
            if event.frame.get("state") == "waiting":
                self._told[event.conversation_id] = dict(event.frame)
            else:
                self._told.pop(event.conversation_id, None)

    def changed_soon(self, places: bool = True) -> None:
        """Schedule a queue refresh in the background; bursts of changes coalesce.

        It runs outside the caller's task, so a websocket closing mid-refresh cannot
        cancel a database call halfway. With `places` False (a new message in a queued
        chat) the refresh only tells the consoles: waiting customers' places stand.
        """
        self._dirty = True
        self._places_dirty = self._places_dirty or places
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh())

    async def _refresh(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty:
            self._dirty = False
            places, self._places_dirty = self._places_dirty, False
            started = loop.time()
            try:
                await self.refresh(places)
            except Exception:
                log.exception("queue refresh failed")
            if self._dirty:  # changed meanwhile: one more, a moment later
                # A refresh reads the whole queue: with thousands waiting it takes long
                # enough that back-to-back refreshes under a stream of handoffs would hold
                # the server. The pause grows with it, so refreshing takes a bounded share.
                took = loop.time() - started
                await asyncio.sleep(max(REFRESH_EVERY_SECONDS, took * REFRESH_PAUSE_PER_SECOND))

    async def drain(self) -> None:
        """Wait for the queue refresh (at shutdown, and in tests)."""
        while self._refresher is not None and not self._refresher.done():
            await asyncio.gather(self._refresher, return_exceptions=True)

    async def refresh(self, places: bool = True) -> None:
        """Tell agents to refresh; with `places`, move waiting customers' positions and
        maybe auto-assign."""
        events: list[DomainEvent] = [AgentsNotified({"type": "queue_changed"})]
        if not places:  # every waiting customer was read and told, and nothing moved
            await self.bus.emit(*events)
            return
        if self.config.auto_assign:
            await self._auto_assign()
        meanwhile: set[str] = set()
        self._told_meanwhile.append(meanwhile)
        try:
            told = await self._places()
        finally:  # by identity: two refreshes' sets may be equal
            self._told_meanwhile = [m for m in self._told_meanwhile if m is not meanwhile]
        previous = self._told
        # a customer who stopped waiting while this ran (an agent took the chat, it was
        # closed) is neither remembered nor sent this refresh's stale place
        for public_id in meanwhile:
            if public_id not in previous:
                told.pop(public_id, None)
        self._told = told  # only those still waiting are remembered
        moved = [(pid, state) for pid, state in told.items() if previous.get(pid) != state]
        await self.bus.emit(*events)
        for start in range(0, len(moved), REFRESH_STEP):
            if start:
                await asyncio.sleep(0)
            # ...and the same for one who stops waiting while the frames go out
            await self.bus.emit(
                *(
                    ConversationUpdated(public_id, cast(StateFrame, state))
                    for public_id, state in moved[start : start + REFRESH_STEP]
                    if self._told.get(public_id) == state
                )
            )

    async def _places(self) -> dict[str, dict[str, Any]]:
        """Every waiting customer's state frame, in queue order. Works through the queue
        `REFRESH_STEP` customers at a time, letting the event loop serve others between."""
        available = await self.availability()  # now, not when each was queued
        async with self.sessions() as session:
            # the queue's keys, read once, not the waiting conversations: with thousands
            # waiting (nobody online, customers gone) every refresh loaded each of them
            keys = await _rows.queue_keys(session)
            free = await self._free_capacity(session)
        reasons = {public_id: reason for public_id, reason, _ in keys}
        told: dict[str, dict[str, Any]] = {}
        for place, entry in enumerate(self._ordered(keys), 1):
            if place % REFRESH_STEP == 0:
                await asyncio.sleep(0)
            public_id = entry.conversation_id
            state = waiting_frame(
                reasons[public_id], place=(place, self._wait(place, free)), available=available
            )
            told[public_id] = dict(state)
        return told

    async def _auto_assign(self) -> None:
        async with self.sessions() as session:
            queue = await self._queue(session)
        for entry in queue:
            candidates = []
            async with self.sessions() as session:
                for agent in await self._available():
                    if await _rows.open_chats(session, agent.user_id) < agent.max_open_chats:
                        candidates.append(agent)
            if not candidates:
                return
            chosen = min(candidates, key=lambda p: p.last_assigned)  # round robin
            try:
                await self.assignment.claim(chosen.user_id, entry.conversation_id, auto=True)
            except ChatError:
                continue
            await self.presence.assigned(chosen.user_id)
