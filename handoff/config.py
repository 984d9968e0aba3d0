"""The settings the agents' side works by (built from the app's settings in app/main.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from handoff.queue import DEFAULT_SLA_SECONDS


@dataclass(frozen=True)
class HandoffConfig:
    average_handle_seconds: int = 240
    """How long an agent takes per conversation, for the customer's wait estimate."""
    queue_aging_per_minute: float = 10.0
    """Priority points a waiting conversation gains each minute."""
    sla_targets: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_SECONDS))
    """First-response targets in seconds, by handoff reason."""
    auto_assign: bool = False
    """Give waiting conversations to available agents round robin."""
    hours_label: str = ""
    """The business hours as customers are told them."""
    console_waiting_shown: int = 200
    """How many waiting conversations a console lists (the first in service order; it
    counts the others)."""
