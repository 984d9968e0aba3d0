"""What the report tests share: a database of known conversations around Tokyo's midnight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accounts.users import Role
from storage.models import Conversation, Handoff, Message
from tests.app import agents
from tests.app.agents import add_user, sign_in
from tests.app.conftest import MakeClient, services

seeded_data = agents.seeded_data
make_client = agents.make_client

PERIOD = "from=2026-03-01&to=2026-03-04"
HOSTILE = "</script><script>alert('x')</script> & <b>"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def later(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)


def cite(*article_ids: str) -> list[dict[str, Any]]:
    return [
        {"article_id": a, "title": a.replace("-", " ").title(), "url": f"https://help/{a}"}
        for a in article_ids
    ]


def conversation(
    created: str,
    lang: str = "en",
    *,
    handoffs: tuple[str, ...] = (),
    wait: float | None = None,
    respond: float | None = None,
    agent_id: int | None = None,
    outcome: str | None = None,
    closed: bool = False,
    csat: int | None = None,
    comment: str | None = None,
    rated: str | None = None,
    answers: tuple[tuple[list[dict[str, Any]], bool | None], ...] = (),
) -> Conversation:
    """A conversation as the services leave it: handed off `wait` s after it started (if at
    all), claimed `wait` s later, answered `respond` s after the claim."""
    start = utc(created)
    escalated = later(start, 60) if handoffs else None
    claimed = later(escalated, wait) if escalated and wait is not None else None
    row = Conversation(
        public_id=str(uuid.uuid4()),
        token_hash=uuid.uuid4().hex,
        state="closed" if closed else ("agent" if claimed else "waiting" if handoffs else "bot"),
        lang=lang,
        created_at=start,
        escalated_at=escalated,
        escalation_reason=handoffs[-1] if handoffs else None,
        claimed_at=claimed,
        first_response_at=later(claimed, respond) if claimed and respond is not None else None,
        agent_id=agent_id,
        closed_at=later(start, 3600) if closed else None,
        outcome=outcome,
        csat_score=csat,
        csat_comment=comment,
        rated_at=utc(rated) if rated else (later(start, 3700) if csat else None),
    )
    row.handoffs = [Handoff(reason=r, created_at=escalated) for r in handoffs]
    row.messages = [
        Message(seq=1, role="customer", kind="text", text="Hello", created_at=start),
        *(
            Message(
                seq=n + 2,
                role="bot",
                kind="answer",
                text="Here is how",
                citations=citations,
                helpful=helpful,
                created_at=later(start, n + 1),
            )
            for n, (citations, helpful) in enumerate(answers)
        ),
        # not answers: they count neither as answers nor as citations
        Message(
            seq=90,
            role="bot",
            kind="suggestions",
            text="Maybe",
            citations=cite("x"),
            created_at=later(start, 20),
        ),
        Message(seq=91, role="bot", kind="decline", text="Sorry", created_at=later(start, 30)),
    ]
    return row


def handled(
    created: str,
    lang: str,
    reasons: str,
    wait: float,
    respond: float,
    agent_id: int,
    outcome: str,
    rating: tuple[int, str, str | None],
    *answers: tuple[list[dict[str, Any]], bool | None],
) -> Conversation:
    """A conversation an agent took over and closed, then rated (score, comment, when)."""
    score, comment, rated = rating
    return conversation(
        created,
        lang,
        handoffs=tuple(reasons.split()),
        wait=wait,
        respond=respond,
        agent_id=agent_id,
        outcome=outcome,
        closed=True,
        csat=score,
        comment=comment,
        rated=rated,
        answers=answers,
    )


def seed(client: TestClient) -> dict[str, int]:
    """Six conversations from 1 to 3 March 2026 (Tokyo), and two just outside."""
    aiko = add_user(client, "aiko", Role.AGENT, "Aiko")
    ken = add_user(client, "ken", Role.AGENT, "Ken")
    rows = [
        # 28 Feb 23:59:58 in Tokyo: outside the period, and so is its answer a second later
        conversation(
            "2026-02-28T14:59:58",
            handoffs=("frustration",),
            wait=5,
            respond=5,
            agent_id=ken,
            closed=True,
            csat=1,
            answers=((cite("return-item"), False),),
        ),
        # 1 March, 00:00:00 in Tokyo: the bot alone, closed without a rating
        conversation(
            "2026-02-28T15:00:00",
            closed=True,
            answers=(
                (cite("return-item"), True),
                (cite("return-item", "shipping-fees", "return-item"), None),
            ),
        ),
        # 1 March, 23:59 in Tokyo
        handled(
            "2026-03-01T14:59:00",
            "en",
            "customer_request",
            120,
            30,
            aiko,
            "resolved",
            (5, "Great help", "2026-03-01T15:10:00"),
            (cite("shipping-fees"), False),
        ),
        # 2 March, 00:00 in Tokyo
        handled(
            "2026-03-01T15:00:00",
            "ja",
            "frustration",
            300,
            60,
            ken,
            "not_resolved",
            (2, HOSTILE, "2026-03-01T15:20:00"),
            (cite("return-item-ja"), True),
        ),
        # 2 March: handed off twice (the second time after a hand-back), rated without comment
        handled(
            "2026-03-02T03:00:00",
            "ja",
            "low_confidence customer_request",
            60,
            10,
            aiko,
            "resolved",
            (4, "", None),
        ),
        # 3 March: still waiting for an agent
        conversation("2026-03-03T01:00:00", handoffs=("customer_request",)),
        # 3 March, 23:59:58 in Tokyo: the bot alone, rated; its answer comes at 23:59:59
        conversation(
            "2026-03-03T14:59:58", closed=True, csat=3, answers=((cite("return-item"), True),)
        ),
        # 4 March, 00:00 in Tokyo: outside the period
        conversation(
            "2026-03-03T15:00:00",
            handoffs=("low_confidence",),
            answers=((cite("return-item"), True),),
        ),
    ]
    # 2 March: the widget was opened and closed without a word: not a conversation
    silent = conversation("2026-03-02T03:00:00")
    silent.messages = []
    rows.append(silent)

    async def insert() -> None:
        async with services(client).sessions.begin() as session:
            session.add_all(rows)

    assert client.portal is not None
    client.portal.call(insert)
    return {"aiko": aiko, "ken": ken}


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    client = make_client(timezone="Asia/Tokyo")
    seed(client)
    return client


@pytest.fixture
def agent(client: TestClient) -> dict[str, str]:
    return sign_in(client, "aiko")


def report(client: TestClient, headers: dict[str, str], query: str = PERIOD) -> dict[str, Any]:
    response = client.get(f"/api/reports?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
