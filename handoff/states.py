"""The conversation state machine.

    bot ──▶ waiting ──▶ agent ──▶ bot
     │         │          │
     └─────────┴──────────┴────▶ closed

`bot`: the bot answers. `waiting`: queued for a person, the bot is silent. `agent`: a
person answers. An agent hands the conversation back to the bot or closes it; a waiting
conversation can also be handed back (the customer gave up waiting) or closed.
"""

from __future__ import annotations

from enum import StrEnum


class ConversationState(StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    AGENT = "agent"
    CLOSED = "closed"


ALLOWED: dict[ConversationState, frozenset[ConversationState]] = {
    ConversationState.BOT: frozenset({ConversationState.WAITING, ConversationState.CLOSED}),
    ConversationState.WAITING: frozenset(
        {ConversationState.AGENT, ConversationState.BOT, ConversationState.CLOSED}
    ),
    ConversationState.AGENT: frozenset(
        {ConversationState.BOT, ConversationState.WAITING, ConversationState.CLOSED}
    ),
    ConversationState.CLOSED: frozenset(),
}


class IllegalTransition(Exception):
    """A transition the state machine does not allow; names both states."""

    code = "illegal_transition"

    def __init__(self, current: ConversationState, target: ConversationState) -> None:
        allowed = ", ".join(sorted(ALLOWED[current])) or "none (it is final)"
        super().__init__(
            f"cannot move a conversation from {current.value!r} to {target.value!r} "
            f"(allowed from {current.value!r}: {allowed})"
        )
        self.current = current
        self.target = target


def check_transition(current: ConversationState, target: ConversationState) -> None:
    """Raise `IllegalTransition` unless `current` may move to `target`."""
    if target not in ALLOWED[current]:
        raise IllegalTransition(current, target)
