"""The agents' desk: one object the agent console talks to.

It joins presence (`delivery.presence`), the queue (`handoff.lineup`), assignment
(`handoff.assignment`) and the context panel (`handoff.context`); each does its own work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attachments.kinds import AttachmentError
from attachments.service import Attachments, Upload
from conversations.errors import ChatError
from delivery.events import EventBus, QueueChanged
from delivery.presence import STATUSES, AgentPresence, PresenceStore
from handoff.assignment import Assignment
from handoff.context import ContextPanel
from handoff.lineup import Lineup
from storage.models import User


class AgentDesk:
    """Presence, the queue and every agent action, for the console's connection."""

    def __init__(
        self,
        bus: EventBus,
        presence: PresenceStore,
        lineup: Lineup,
        assignment: Assignment,
        panel: ContextPanel,
        files: Attachments | None = None,
    ) -> None:
        self.bus = bus
        self.presence = presence
        self.lineup = lineup
        self.assignment = assignment
        self.panel = panel
        self.files = files

    # ------------------------------------------------------------------ presence
    async def connect(self, user: User) -> AgentPresence:
        presence = await self.presence.connect(user.id, user.display_name, user.max_open_chats)
        await self.bus.emit(QueueChanged())
        return presence

    async def disconnect(self, user_id: int) -> None:
        await self.presence.disconnect(user_id)
        await self.bus.emit(QueueChanged())

    async def set_status(self, user_id: int, status: str) -> None:
        if status not in STATUSES:
            raise ChatError("invalid_field", "'status' must be 'online' or 'away'")
        await self.presence.set_status(user_id, status)
        await self.bus.emit(QueueChanged())

    # ------------------------------------------------------------------ reading
    async def snapshot(self, user_id: int) -> dict[str, Any]:
        return await self.lineup.snapshot(user_id)

    async def context(self, public_id: str, last_seq: int | None = None) -> dict[str, Any]:
        return await self.panel.context(public_id, last_seq)

    # ------------------------------------------------------------------ actions
    async def claim(self, user_id: int, public_id: str) -> None:
        await self.assignment.claim(user_id, public_id)

    async def reply(
        self,
        user_id: int,
        public_id: str,
        client_id: str,
        text: str,
        uploads: Sequence[Upload] = (),
    ) -> dict[str, Any]:
        """A reply to the customer, with files when `uploads` has some.

        Raises:
            AttachmentError: a file was refused (nothing is stored), or attaching is off.
            ChatError: the agent does not own the conversation (and the rest of `reply`).
        """
        files = []
        if uploads:
            if self.files is None:
                raise AttachmentError("unsupported_type", "attaching files is turned off")
            files = await self.files.keep(uploads)
        frame = await self.assignment.reply(user_id, public_id, client_id, text, files)
        return {**frame, "conversation_id": public_id}

    async def note(self, user_id: int, public_id: str, text: str) -> dict[str, Any]:
        return dict(await self.assignment.note(user_id, public_id, text))

    async def typing(self, user_id: int, public_id: str, typing: bool) -> None:
        await self.assignment.typing(user_id, public_id, typing)

    async def transfer(self, user_id: int, public_id: str, to_user_id: int) -> None:
        await self.assignment.transfer(user_id, public_id, to_user_id)

    async def hand_back(self, user_id: int, public_id: str) -> None:
        await self.assignment.hand_back(user_id, public_id)

    async def close(self, user_id: int, public_id: str, outcome: str, tags: Sequence[str]) -> None:
        await self.assignment.close(user_id, public_id, outcome, tags)

    async def drain(self) -> None:
        """Stop grace timers, then wait for the queue refresh (at shutdown): a requeue
        that ends while presence closes refreshes the queue once more."""
        await self.presence.close()
        await self.lineup.drain()
