"""What the customers' side needs from the agents' side, as protocols.

`handoff` implements them; `app/main.py` passes the implementation in. The customers'
side never imports the agents' services, so neither reaches into the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation


@dataclass(frozen=True)
class Availability:
    """Whether a person can answer now."""

    is_open: bool
    """Within business hours."""
    agents_online: int
    """Agents connected and available."""
    hours: str = ""
    """The business hours as configured (for logs; customers are told `weekly`)."""
    next_opening: datetime | None = None
    """Outside business hours, when they next begin (in the business's time zone)."""
    weekly: tuple[tuple[int, time, time], ...] = ()
    """The opening hours: (weekday 0 = Monday, start, end) in the business's time zone."""
    timezone: str = ""
    """The business's time zone (an IANA name, e.g. Asia/Tokyo)."""

    @property
    def offline(self) -> bool:
        """Nobody can answer now: outside business hours or no agent available."""
        return not self.is_open or self.agents_online == 0


class QueueInfo(Protocol):
    async def availability(self) -> Availability:
        """Whether a person can answer now."""
        ...

    async def place(self, session: AsyncSession, conversation: Conversation) -> tuple[int, int]:
        """A waiting conversation's (position, estimated wait in seconds)."""
        ...
