"""The conversation state machine: what may follow what, and what an illegal move says."""

from __future__ import annotations

import itertools

import pytest

from handoff.states import ConversationState, IllegalTransition, check_transition

BOT, WAITING, AGENT, CLOSED = (
    ConversationState.BOT,
    ConversationState.WAITING,
    ConversationState.AGENT,
    ConversationState.CLOSED,
)

# Written out rather than read from handoff.states, so a changed rule fails here.
ALLOWED = {
    (BOT, WAITING),  # the customer asks for a person, or the bot gives up
    (BOT, CLOSED),
    (WAITING, AGENT),  # an agent claims it
    (WAITING, BOT),  # the customer gave up waiting
    (WAITING, CLOSED),
    (AGENT, BOT),  # handed back
    (AGENT, WAITING),  # the agent vanished: back in the queue
    (AGENT, CLOSED),
}
EVERY_PAIR = list(itertools.product(ConversationState, repeat=2))


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transitions_pass(current: ConversationState, target: ConversationState) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"), [pair for pair in EVERY_PAIR if pair not in ALLOWED]
)
def test_every_other_transition_is_refused_naming_both_states(
    current: ConversationState, target: ConversationState
) -> None:
    with pytest.raises(IllegalTransition) as refused:
        check_transition(current, target)
    message = str(refused.value)
    assert f"from '{current}' to '{target}'" in message
    assert (refused.value.current, refused.value.target) == (current, target)
    assert refused.value.code == "illegal_transition"


def test_an_illegal_move_says_what_would_have_been_allowed() -> None:
    with pytest.raises(IllegalTransition, match=r"allowed from 'bot': closed, waiting\)"):
        check_transition(BOT, AGENT)  # an agent cannot take a conversation nobody queued


def test_a_closed_conversation_is_final() -> None:
    for target in ConversationState:
        with pytest.raises(IllegalTransition, match=r"none \(it is final\)"):
            check_transition(CLOSED, target)
