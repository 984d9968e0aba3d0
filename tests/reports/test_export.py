"""A report's tables as CSV, on their own."""

from __future__ import annotations

from datetime import date

from reports.export import csv_filename, csv_table
from reports.models import AgentFigures, BotAnswers, Csat, Day, Durations, Report
from reports.periods import Period


def a_report(names: list[str]) -> Report:
    none = Durations(count=0, median=None, p90=None)
    return Report(
        start=date(2026, 3, 1),
        end=date(2026, 3, 3),
        timezone="UTC",
        lang=None,
        conversations=0,
        bot_only=0,
        handed_off=0,
        automation_rate=None,
        handoff_reasons={},
        waiting=none,
        first_response=none,
        outcomes={},
        csat=Csat(
            responses=0,
            response_rate=None,
            average=None,
            distribution={},
            satisfied_rate=None,
            comments=[],
        ),
        bot_answers=BotAnswers(
            answers=0, helpful=0, unhelpful=0, helpful_rate=None, top_articles=[]
        ),
        agents=[
            AgentFigures(
                agent_id=n,
                name=name,
                conversations=2,
                first_response_median=12.5 if n == 0 else None,
                csat_average=4.0,
                csat_responses=1,
            )
            for n, name in enumerate(names)
        ],
        days=[
            Day(day=date(2026, 3, 1), conversations=2, handoffs=1, csat_average=4.5),
            Day(day=date(2026, 3, 2), conversations=0, handoffs=0, csat_average=None),
        ],
    )


def test_the_days_table() -> None:
    assert csv_table(a_report([]), "days") == (
        "day,conversations,handoffs,csat_average\r\n2026-03-01,2,1,4.5\r\n2026-03-02,0,0,\r\n"
    )


def test_the_agents_table_never_starts_a_cell_with_a_formula() -> None:
    rows = csv_table(a_report(["Aiko", "=HYPERLINK()", "@sum", "-1"]), "agents").split("\r\n")
    assert rows[0] == (
        "agent,conversations,first_response_median_seconds,csat_average,csat_responses"
    )
    assert rows[1:5] == ["Aiko,2,12.5,4,1", "'=HYPERLINK(),2,,4,1", "'@sum,2,,4,1", "'-1,2,,4,1"]


def test_file_names_carry_the_table_the_period_and_the_language() -> None:
    period = Period(date(2026, 3, 1), date(2026, 3, 3), "UTC")
    assert csv_filename(period, "days") == "kakehashi-days-2026-03-01-2026-03-03.csv"
    ja = Period(date(2026, 3, 1), date(2026, 3, 3), "UTC", "ja")
    assert csv_filename(ja, "agents") == "kakehashi-agents-2026-03-01-2026-03-03-ja.csv"
