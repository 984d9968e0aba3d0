"""A report's tables as CSV: the per-day series, the per-agent table, or by channel."""

from __future__ import annotations

import csv
import io
from typing import Literal

from reports.models import Report
from reports.periods import Period

Table = Literal["days", "agents", "channels"]


def csv_table(report: Report, table: Table) -> str:
    """The table as CSV text (CRLF line ends, a header row first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table == "days":
        writer.writerow(["day", "conversations", "handoffs", "csat_average"])
        for day in report.days:
            writer.writerow(
                [day.day.isoformat(), day.conversations, day.handoffs, _cell(day.csat_average)]
            )
    elif table == "channels":
        writer.writerow(["channel", "conversations", "bot_only", "handoffs"])
        for figures in report.channels:
            writer.writerow(
                [figures.channel, figures.conversations, figures.bot_only, figures.handed_off]
            )
    else:
        writer.writerow(
            [
                "agent",
                "conversations",
                "first_response_median_seconds",
                "csat_average",
                "csat_responses",
            ]
        )
        for agent in report.agents:
            writer.writerow(
                [
                    _text_cell(agent.name),
                    agent.conversations,
                    _cell(agent.first_response_median),
                    _cell(agent.csat_average),
                    agent.csat_responses,
                ]
            )
    return out.getvalue()


def csv_filename(period: Period, table: Table) -> str:
    suffix = f"-{period.lang}" if period.lang else ""
    return f"kakehashi-{table}-{period.start}-{period.end}{suffix}.csv"


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _text_cell(text: str) -> str:
    """A name a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
