"""Support reports: exact figures from a known database, the JSON API, the CSV and the page.

The seeded conversations straddle Tokyo's day boundaries (UTC+9): 15:00 UTC is midnight in
Tokyo, so a conversation at 14:59 UTC belongs to the day before.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from accounts.users import Role
from tests.app import _reports
from tests.app._reports import (
    HOSTILE,
    PERIOD,
    report,
    seed,
)
from tests.app.agents import add_user, sign_in
from tests.app.conftest import MakeClient, on_both_databases

# the fixtures, found by name
seeded_data = _reports.seeded_data
make_client = _reports.make_client
client = _reports.client
agent = _reports.agent


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
