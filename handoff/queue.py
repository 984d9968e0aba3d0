"""Queue order, SLA state and the customer's estimated wait.

Priority starts from the handoff reason (frustration above low confidence above a
customer's own request) and grows with waiting time, so no conversation starves: after
`aging_per_minute` points a minute, a plain request that has waited long enough overtakes
a fresh frustrated one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from handoff.reasons import HandoffReason

BASE_PRIORITY: Mapping[str, float] = {
    HandoffReason.FRUSTRATION: 300.0,
    HandoffReason.LOW_CONFIDENCE: 200.0,
    HandoffReason.CUSTOMER_REQUEST: 100.0,
}
DEFAULT_BASE_PRIORITY = 100.0  # a reason the table does not know
DEFAULT_SLA_SECONDS: Mapping[str, int] = {
    HandoffReason.FRUSTRATION: 120,
    HandoffReason.LOW_CONFIDENCE: 300,
    HandoffReason.CUSTOMER_REQUEST: 300,
}
NEAR_SLA_SHARE = 0.75


class SlaState(StrEnum):
    OK = "ok"
    NEAR = "near"
    BREACHED = "breached"


@dataclass(frozen=True)
class QueueEntry:
    """A conversation waiting for a person."""

    conversation_id: str
    reason: str
    escalated_at: datetime

    def waited(self, now: datetime) -> float:
        return max(0.0, (now - self.escalated_at).total_seconds())


def priority(reason: str, waited_seconds: float, aging_per_minute: float = 10.0) -> float:
    """Higher is served first."""
    return BASE_PRIORITY.get(reason, DEFAULT_BASE_PRIORITY) + aging_per_minute * waited_seconds / 60


def sla_state(
    reason: str, waited_seconds: float, targets: Mapping[str, int] = DEFAULT_SLA_SECONDS
) -> SlaState:
    target = targets.get(reason, max(targets.values()))
    if waited_seconds >= target:
        return SlaState.BREACHED
    if waited_seconds >= NEAR_SLA_SHARE * target:
        return SlaState.NEAR
    return SlaState.OK


def ordered(
    entries: Iterable[QueueEntry], now: datetime, aging_per_minute: float = 10.0
) -> list[QueueEntry]:
    """Highest priority first; ties go to whoever waited longest."""
    return sorted(
        entries,
        key=lambda e: (-priority(e.reason, e.waited(now), aging_per_minute), e.escalated_at),
    )


def served_before(
    reason: str, escalated_at: datetime, aging_per_minute: float = 10.0
) -> dict[float, datetime | bool]:
    """Which waiting conversations `ordered` serves before one with `reason`, escalated at
    `escalated_at`: for each base priority, those with it escalated before the time given
    (True: all of them, False: none).

    Priority grows at the same rate for everyone, so the difference between two never
    changes and the order does not depend on when it is read: a conversation's place is a
    count the database can do, not a sort of the whole queue.
    """
    mine = BASE_PRIORITY.get(reason, DEFAULT_BASE_PRIORITY)
    cutoffs: dict[float, datetime | bool] = {}
    for base in {*BASE_PRIORITY.values(), DEFAULT_BASE_PRIORITY}:
        if base == mine:
            cutoffs[base] = escalated_at  # the same priority: whoever waited longer
        elif aging_per_minute <= 0:
            cutoffs[base] = base > mine
        else:
            # base + aging * (now - t) > mine + aging * (now - escalated_at)
            shift = (base - mine) * 60 / aging_per_minute
            try:
                cutoffs[base] = escalated_at + timedelta(seconds=shift)
            except OverflowError:  # ageing so slow that the base decides alone
                cutoffs[base] = base > mine
    return cutoffs


def estimated_wait_seconds(
    position: int, agents_available: int, average_handle_seconds: int
) -> int:
    """Rough wait for the customer at `position` (1 = next) with that many free agents."""
    if position <= 0:
        return 0
    servers = max(1, agents_available)
    return int(math.ceil(position / servers) * average_handle_seconds)
