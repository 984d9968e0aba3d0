"""Queue order, ageing, SLA state and the customer's estimated wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.queue import (
    QueueEntry,
    SlaState,
    estimated_wait_seconds,
    ordered,
    priority,
    sla_state,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def entry(name: str, reason: str, minutes_ago: float) -> QueueEntry:
    return QueueEntry(name, reason, NOW - timedelta(minutes=minutes_ago))


def order(*entries: QueueEntry, aging: float = 10.0) -> list[str]:
    return [e.conversation_id for e in ordered(entries, NOW, aging)]


def test_frustration_comes_before_low_confidence_before_a_plain_request() -> None:
    assert order(
        entry("asked", "customer_request", 0.5),
        entry("unsure", "low_confidence", 0.2),
        entry("angry", "frustration", 0.0),
    ) == ["angry", "unsure", "asked"]


def test_equal_priority_goes_to_whoever_waited_longest() -> None:
    assert order(
        entry("second", "customer_request", 1),
        entry("first", "customer_request", 3),
        entry("third", "customer_request", 0),
    ) == ["first", "second", "third"]


@pytest.mark.parametrize(
    ("minutes", "first"),
    [(19, "angry"), (20, "asked"), (21, "asked")],
    ids=["19-min-not-yet", "20-min-tie-goes-to-the-older", "21-min-overtakes"],
)
def test_ageing_lets_an_old_request_overtake_a_fresh_frustration(minutes: int, first: str) -> None:
    # 100 + 10/minute against 300: after 20 minutes the request has caught up
    assert (
        order(entry("asked", "customer_request", minutes), entry("angry", "frustration", 0))[0]
        == first
    )


def test_without_ageing_a_request_never_overtakes() -> None:
    queue = order(
        entry("asked", "customer_request", 600), entry("angry", "frustration", 0), aging=0
    )
    assert queue == ["angry", "asked"]


def test_priority_grows_with_waiting_time() -> None:
    assert priority("frustration", 0) == 300
    assert priority("low_confidence", 0) == 200
    assert priority("customer_request", 90) == pytest.approx(115)
    assert priority("customer_request", 60, aging_per_minute=30) == pytest.approx(130)
    assert priority("something_new", 0) == 100, "an unknown reason ranks as a plain request"


def test_waiting_time_is_never_negative() -> None:
    ahead_of_the_clock = QueueEntry("x", "frustration", NOW + timedelta(seconds=5))
    assert ahead_of_the_clock.waited(NOW) == 0


@pytest.mark.parametrize(
    ("reason", "waited", "state"),
    [
        ("frustration", 0, SlaState.OK),
        ("frustration", 89, SlaState.OK),
        ("frustration", 90, SlaState.NEAR),  # 75 % of 120 s
        ("frustration", 119, SlaState.NEAR),
        ("frustration", 120, SlaState.BREACHED),
        ("customer_request", 224, SlaState.OK),
        ("customer_request", 225, SlaState.NEAR),
        ("customer_request", 299, SlaState.NEAR),
        ("customer_request", 300, SlaState.BREACHED),
        ("low_confidence", 3600, SlaState.BREACHED),
    ],
)
def test_sla_state_against_the_first_response_target(
    reason: str, waited: float, state: SlaState
) -> None:
    assert sla_state(reason, waited) is state


def test_sla_targets_are_configurable_and_unknown_reasons_get_the_longest() -> None:
    targets = {"frustration": 60, "customer_request": 600}
    assert sla_state("frustration", 60, targets) is SlaState.BREACHED
    assert sla_state("customer_request", 60, targets) is SlaState.OK
    assert sla_state("something_new", 449, targets) is SlaState.OK
    assert sla_state("something_new", 450, targets) is SlaState.NEAR


@pytest.mark.parametrize(
    ("position", "agents", "seconds"),
    [
        (1, 1, 240),
        (2, 1, 480),
        (3, 2, 480),  # two agents take two customers at a time
        (4, 2, 480),
        (5, 2, 720),
        (2, 0, 480),  # nobody free: estimated as if one will be
        (0, 3, 0),
    ],
)
def test_estimated_wait(position: int, agents: int, seconds: int) -> None:
    assert estimated_wait_seconds(position, agents, 240) == seconds
