"""Support reports as files and pages: the CSV tables and the reports page."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import update

from accounts.users import Role
from storage.models import Conversation
from tests.app import _reports
from tests.app._reports import (
    HOSTILE,
    PERIOD,
    report,
)
from tests.app.agents import add_user, sign_in
from tests.app.conftest import services

# the fixtures, found by name
seeded_data = _reports.seeded_data
make_client = _reports.make_client
client = _reports.client
agent = _reports.agent


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
    for table in ("table-reasons", "table-outcomes"):  # words, not the codes behind them
        rows = re.search(rf'data-testid="{table}">.*?<tbody>(.*?)</tbody>', text, re.S)
        assert rows is not None and "<td>" in rows[1] and "_" not in rows[1], table
    assert "<td>Customer request</td>" in text
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
