"""Support reports: exact figures from a known database, the JSON API, the CSV and the page.

The seeded conversations straddle Tokyo's day boundaries (UTC+9): 15:00 UTC is midnight in
Tokyo, so a conversation at 14:59 UTC belongs to the day before.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from accounts.users import Role
from storage.models import Conversation, Handoff, Message
from tests.app import agents
from tests.app.agents import add_user, sign_in
from tests.app.conftest import MakeClient, on_both_databases, services

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


# ------------------------------------------------------------------------------ figures
@on_both_databases
def test_the_report_counts_the_periods_conversations_exactly(
    client: TestClient, agent: dict[str, str]
) -> None:
    body = report(client, agent)
    assert (body["start"], body["end"], body["timezone"], body["lang"]) == (
        "2026-03-01",
        "2026-03-04",
        "Asia/Tokyo",
        None,
    )
    assert (body["conversations"], body["bot_only"], body["handed_off"]) == (6, 2, 4)
    assert body["automation_rate"] == 0.3333
    assert body["handoff_reasons"] == {
        "customer_request": 3,
        "frustration": 1,
        "low_confidence": 1,
    }
    # waits 60, 120, 300 s; first responses 10, 30, 60 s (the waiting one has neither)
    assert body["waiting"] == {"count": 3, "median": 120.0, "p90": 264.0}
    assert body["first_response"] == {"count": 3, "median": 30.0, "p90": 54.0}
    assert body["outcomes"] == {"not_resolved": 1, "resolved": 2}


@on_both_databases
def test_csat_figures_and_the_latest_comments(client: TestClient, agent: dict[str, str]) -> None:
    csat = report(client, agent)["csat"]
    assert csat["responses"] == 4
    assert csat["response_rate"] == 0.8, "4 of the 5 closed conversations were rated"
    assert csat["average"] == 3.5
    assert csat["distribution"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    assert csat["satisfied_rate"] == 0.5
    assert [(c["score"], c["comment"], c["lang"]) for c in csat["comments"]] == [
        (2, HOSTILE, "ja"),
        (5, "Great help", "en"),
    ], "newest first, ratings without a comment left out"


@on_both_databases
def test_bot_answers_feedback_and_the_most_cited_articles(
    client: TestClient, agent: dict[str, str]
) -> None:
    answers = report(client, agent)["bot_answers"]
    assert (answers["answers"], answers["helpful"], answers["unhelpful"]) == (5, 3, 1)
    assert answers["helpful_rate"] == 0.75
    assert [(a["article_id"], a["citations"]) for a in answers["top_articles"]] == [
        ("return-item", 3),  # an answer citing it twice counts once
        ("shipping-fees", 2),
        ("return-item-ja", 1),
    ]
    assert answers["top_articles"][0]["title"] == "Return Item"
    assert answers["top_articles"][0]["url"] == "https://help/return-item"


@on_both_databases
def test_agents_and_the_per_day_series_at_tokyo_day_boundaries(
    client: TestClient, agent: dict[str, str]
) -> None:
    body = report(client, agent)
    assert [
        (a["name"], a["conversations"], a["first_response_median"], a["csat_average"])
        for a in body["agents"]
    ] == [("Aiko", 2, 20.0, 4.5), ("Ken", 1, 60.0, 2.0)]
    assert [
        (d["day"], d["conversations"], d["handoffs"], d["csat_average"]) for d in body["days"]
    ] == [
        ("2026-03-01", 2, 1, 5.0),
        ("2026-03-02", 2, 2, 3.0),
        ("2026-03-03", 2, 1, 3.0),
    ]


def test_the_same_data_in_utc_moves_conversations_to_other_days(
    make_client: MakeClient,
) -> None:
    client = make_client(timezone="UTC")
    seed(client)
    body = report(client, sign_in(client, "aiko"))
    assert [(d["day"], d["conversations"]) for d in body["days"]] == [
        ("2026-03-01", 2),  # 14:59 and 15:00 UTC
        ("2026-03-02", 1),
        ("2026-03-03", 3),
    ]


@on_both_databases
def test_the_language_filter(client: TestClient, agent: dict[str, str]) -> None:
    body = report(client, agent, PERIOD + "&lang=ja")
    assert body["lang"] == "ja"
    assert (body["conversations"], body["handed_off"], body["automation_rate"]) == (2, 2, 0.0)
    assert body["handoff_reasons"] == {
        "customer_request": 1,
        "frustration": 1,
        "low_confidence": 1,
    }
    assert [(a["name"], a["conversations"]) for a in body["agents"]] == [("Aiko", 1), ("Ken", 1)]
    assert body["bot_answers"]["answers"] == 1
    assert body["csat"]["average"] == 3.0
    assert body["waiting"] == {"count": 2, "median": 180.0, "p90": 276.0}


def test_an_empty_period_gives_zeros_and_nothing(client: TestClient, agent: dict[str, str]) -> None:
    body = report(client, agent, "from=2025-01-01&to=2025-01-08")
    assert body["conversations"] == body["handed_off"] == 0
    assert body["automation_rate"] is None
    assert body["handoff_reasons"] == {} and body["outcomes"] == {} and body["agents"] == []
    assert body["waiting"] == {"count": 0, "median": None, "p90": None}
    assert body["csat"]["average"] is None and body["csat"]["response_rate"] is None
    assert body["csat"]["distribution"] == {str(n): 0 for n in range(1, 6)}
    assert body["bot_answers"]["helpful_rate"] is None
    assert len(body["days"]) == 7
    assert {(d["conversations"], d["handoffs"], d["csat_average"]) for d in body["days"]} == {
        (0, 0, None)
    }
    page = client.get("/reports?from=2025-01-01&to=2025-01-08", headers=agent)
    assert page.status_code == 200 and "No handoffs." in page.text


# ------------------------------------------------------------------------------ the API
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-3-1", "'from' must be an ISO date (YYYY-MM-DD), not '2026-3-1'"),
        ("from=2026-03-01&to=tomorrow", "'to' must be an ISO date (YYYY-MM-DD), not 'tomorrow'"),
        (
            "from=2026-03-04&to=2026-03-04",
            "'to' (2026-03-04) must be after 'from' (2026-03-04); 'to' is the first day not "
            "included",
        ),
        ("from=2025-03-01&to=2026-03-03", "the period has 367 days; at most 366 are allowed"),
        ("lang=english", "'lang' must be a language code such as en or ja, not 'english'"),
        (
            "from=0001-01-01&to=0001-01-02",
            "dates must be between 1970-01-01 and 9998-12-31 (got 0001-01-01 to 0001-01-02)",
        ),
    ],
)
def test_bad_periods_get_a_422_that_says_what_to_send(
    client: TestClient, agent: dict[str, str], query: str, message: str
) -> None:
    for path in ("/api/reports", "/api/reports.csv"):
        response = client.get(f"{path}?{query}", headers=agent)
        assert response.status_code == 422
        assert response.json() == {"error": {"code": "invalid_period", "message": message}}


def test_the_longest_period_and_the_default_period_over_http(
    client: TestClient, agent: dict[str, str]
) -> None:
    assert len(report(client, agent, "from=2025-03-02&to=2026-03-03")["days"]) == 366
    default = report(client, agent, "")
    assert len(default["days"]) == 30 and default["end"] > default["start"]


def test_the_report_is_in_the_openapi_schema_with_its_model(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/reports"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["from", "to", "lang"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Report"}
    assert "422" in operation["responses"]
    assert "text/csv" in schema["paths"]["/api/reports.csv"]["get"]["responses"]["200"]["content"]


def test_an_agents_api_token_reads_the_report(client: TestClient) -> None:
    add_user(client, "boss", Role.ADMIN)
    admin = sign_in(client, "boss")
    csrf = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/reports", headers=admin).text
    )
    assert csrf is not None
    issued = client.post(
        "/api/tokens", json={"username": "aiko"}, headers={**admin, "x-csrf-token": csrf[1]}
    )
    assert issued.status_code == 201, issued.text
    bearer = {"authorization": f"Bearer {issued.json()['token']}"}
    assert report(client, bearer)["conversations"] == 6
    assert client.get(f"/api/reports.csv?{PERIOD}", headers=bearer).status_code == 200


# ------------------------------------------------------------------------------ CSV
def rows_of(client: TestClient, headers: dict[str, str], query: str) -> list[list[str]]:
    response = client.get(f"/api/reports.csv?{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.text)))


def test_the_csv_of_the_per_day_series(client: TestClient, agent: dict[str, str]) -> None:
    assert rows_of(client, agent, PERIOD) == [
        ["day", "conversations", "handoffs", "csat_average"],
        ["2026-03-01", "2", "1", "5"],
        ["2026-03-02", "2", "2", "3"],
        ["2026-03-03", "2", "1", "3"],
    ]
    response = client.get(f"/api/reports.csv?{PERIOD}&lang=ja", headers=agent)
    assert (
        'filename="kakehashi-days-2026-03-01-2026-03-04-ja.csv"'
        in response.headers["content-disposition"]
    )
    assert response.text.splitlines()[1:] == [
        "2026-03-01,0,0,",
        "2026-03-02,2,2,3",
        "2026-03-03,0,0,",
    ]


def test_the_csv_of_the_agents(client: TestClient, agent: dict[str, str]) -> None:
    # an agent whose name a spreadsheet would run as a formula takes over one conversation
    mallory = add_user(client, "mallory", Role.AGENT, "=HYPERLINK(1)")

    async def reassign() -> None:
        async with services(client).sessions.begin() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.csat_comment == "Great help")
                .values(agent_id=mallory)
            )

    assert client.portal is not None
    client.portal.call(reassign)
    rows = rows_of(client, agent, PERIOD + "&table=agents")
    assert rows[0] == [
        "agent",
        "conversations",
        "first_response_median_seconds",
        "csat_average",
        "csat_responses",
    ]
    assert sorted(rows[1:]) == sorted(
        [
            ["Aiko", "1", "10", "4", "1"],
            ["Ken", "1", "60", "2", "1"],
            ["'=HYPERLINK(1)", "1", "30", "5", "1"],
        ]
    )
    bad = client.get(f"/api/reports.csv?{PERIOD}&table=everything", headers=agent)
    assert bad.status_code == 422


# ------------------------------------------------------------------------------ the page
def test_the_page_shows_the_figures_without_javascript(
    client: TestClient, agent: dict[str, str]
) -> None:
    page = client.get(f"/reports?{PERIOD}", headers={**agent, "accept": "text/html"})
    assert page.status_code == 200
    text = page.text
    tile = re.search(r'data-testid="tile-automation">(.*?)</div>', text, re.S)
    assert tile is not None and "33%" in tile[1] and "2 bot · 4 to a person" in tile[1]
    assert re.search(r'data-testid="tile-waiting">.*?2 min 00 s.*?90%: 4 min 24 s', text, re.S)
    assert re.search(r'data-testid="tile-csat">.*?50%.*?average 3.50 · 4 ratings', text, re.S)
    assert '<td>2026-03-02</td><td class="ed-num">2</td><td class="ed-num">2</td>' in text
    assert '<td>Aiko</td><td class="ed-num">2</td><td class="ed-num">20 s</td>' in text
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js" defer>' in text
    assert 'data-testid="nav-reports"' in text
    # the hostile comment is escaped in the table and cannot close the JSON script tag
    assert HOSTILE not in text and "&lt;/script&gt;" in text
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    assert data is not None
    embedded = json.loads(data[1])
    assert embedded["csat"]["comments"][0]["comment"] == HOSTILE
    assert embedded == report(client, agent)


def test_the_page_explains_a_bad_period_and_shows_the_default(
    client: TestClient, agent: dict[str, str]
) -> None:
    page = client.get("/reports?from=yesterday", headers={**agent, "accept": "text/html"})
    assert page.status_code == 422
    assert "&#39;from&#39; must be an ISO date (YYYY-MM-DD)" in page.text
    assert 'data-testid="tiles"' in page.text


def test_only_agents_and_admins_see_the_reports_link(client: TestClient) -> None:
    add_user(client, "emi", Role.EDITOR, "Emi")
    editor = sign_in(client, "emi")
    page = client.get("/editor", headers={**editor, "accept": "text/html"})
    assert page.status_code == 200 and 'href="/reports"' not in page.text
    assert client.get("/reports", headers=editor).status_code == 403
