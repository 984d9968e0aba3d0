"""Support reports: what the bot and the team did in a period, for the reports page and API.

Pure data (SQLAlchemy queries and arithmetic); the web layer is `app/routes/reports.py`.

A conversation belongs to the day it started, in the configured time zone: its handoff,
waiting time, first response, outcome and rating count for that day, so the figures of a
period always describe the same set of conversations. Bot answers belong to the day they
were sent. Percentiles are computed here, not in SQL, so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app._report_rows import (
    AnswerRow,
    CommentRow,
    ConversationRow,
    answer_rows,
    comment_rows,
    conversation_rows,
    handoff_reasons,
    user_names,
)

MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP_ARTICLES = 10
LATEST_COMMENTS = 10
_LANG = re.compile(r"^[a-z]{2,3}$")


class ReportError(ValueError):
    """A period or filter the report cannot use; the message says what to send instead."""


@dataclass(frozen=True)
class Period:
    """Days [start, end) in a time zone, optionally one conversation language."""

    start: date
    end: date
    timezone: str
    lang: str | None = None

    @classmethod
    def parse(
        cls,
        start: str | None,
        end: str | None,
        lang: str | None,
        timezone: str,
        today: date | None = None,
    ) -> Period:
        """A period from query-string values; both dates missing means the last 30 days.

        Raises:
            ReportError: a date is not ISO, `to` is not after `from`, the range is longer
                than 366 days, or `lang` is not a language code.
        """
        today = today or datetime.now(ZoneInfo(timezone)).date()
        first = _iso_date("from", start)
        stop = _iso_date("to", end)
        if stop is None:
            stop = today + timedelta(days=1)
        if first is None:
            first = stop - timedelta(days=DEFAULT_DAYS)
        if stop <= first:
            raise ReportError(
                f"'to' ({stop.isoformat()}) must be after 'from' ({first.isoformat()}); "
                "'to' is the first day not included"
            )
        if first.year < 1970 or stop.year > 9998:
            raise ReportError(
                f"dates must be between 1970-01-01 and 9998-12-31 (got {first.isoformat()} "
                f"to {stop.isoformat()})"
            )
        if (stop - first).days > MAX_DAYS:
            raise ReportError(
                f"the period has {(stop - first).days} days; at most {MAX_DAYS} are allowed"
            )
        lang = (lang or "").strip().lower() or None
        if lang is not None and not _LANG.match(lang):
            raise ReportError(f"'lang' must be a language code such as en or ja, not {lang!r}")
        return cls(first, stop, timezone, lang)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def bounds(self) -> tuple[datetime, datetime]:
        """The period's first and first-excluded instants, in UTC."""
        return self._instant(self.start), self._instant(self.end)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _instant(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)


def _iso_date(name: str, value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ReportError(
            f"'{name}' must be an ISO date (YYYY-MM-DD), not {value.strip()[:40]!r}"
        ) from None


# ------------------------------------------------------------------------------ results
class Durations(BaseModel):
    """Seconds: how many were measured, their median and 90th percentile."""

    count: int
    median: float | None
    p90: float | None


class Comment(BaseModel):
    conversation_id: str
    score: int
    comment: str
    rated_at: datetime | None
    lang: str


class Csat(BaseModel):
    responses: int
    response_rate: float | None  # of the closed conversations
    average: float | None
    distribution: dict[str, int]  # "1".."5"
    satisfied_rate: float | None  # share of 4 and 5 (the CSAT %)
    comments: list[Comment]


class CitedArticle(BaseModel):
    article_id: str
    title: str
    url: str | None
    citations: int


class BotAnswers(BaseModel):
    answers: int
    helpful: int
    unhelpful: int
    helpful_rate: float | None  # of the answers that got a 👍 or 👎
    top_articles: list[CitedArticle]


class AgentFigures(BaseModel):
    agent_id: int
    name: str
    conversations: int
    first_response_median: float | None
    csat_average: float | None
    csat_responses: int


class Day(BaseModel):
    day: date
    conversations: int
    handoffs: int
    csat_average: float | None


class Report(BaseModel):
    """Everything the reports page shows for one period."""

    start: date
    end: date  # not included
    timezone: str
    lang: str | None
    conversations: int
    bot_only: int
    handed_off: int
    automation_rate: float | None  # share handled by the bot alone
    handoff_reasons: dict[str, int]
    waiting: Durations  # escalated -> claimed
    first_response: Durations  # claimed (or escalated) -> the agent's first reply
    outcomes: dict[str, int]
    csat: Csat
    bot_answers: BotAnswers
    agents: list[AgentFigures]
    days: list[Day]


# ------------------------------------------------------------------------------ building
async def build_report(session: AsyncSession, period: Period) -> Report:
    """The report of `period`; an empty period gives zeros and None, never an error."""
    start, end = period.bounds()
    rows = await conversation_rows(session, start, end, period.lang)
    answers = await answer_rows(session, start, end, period.lang)
    handed = [r for r in rows if r.escalated_at is not None]
    outcomes = Counter(r.outcome for r in rows if r.outcome)
    return Report(
        start=period.start,
        end=period.end,
        timezone=period.timezone,
        lang=period.lang,
        conversations=len(rows),
        bot_only=len(rows) - len(handed),
        handed_off=len(handed),
        automation_rate=_rate(len(rows) - len(handed), len(rows)),
        handoff_reasons=await handoff_reasons(session, start, end, period.lang),
        waiting=durations([r.waited for r in rows]),
        first_response=durations([r.first_response for r in rows]),
        outcomes=dict(sorted(outcomes.items())),
        csat=_csat(rows, await comment_rows(session, start, end, period.lang, LATEST_COMMENTS)),
        bot_answers=_bot_answers(answers),
        agents=_agents(rows, await user_names(session, {a for r in rows for a in r.agents})),
        days=_days(period, rows),
    )


def durations(values: Sequence[float | None]) -> Durations:
    measured = sorted(v for v in values if v is not None)
    return Durations(
        count=len(measured),
        median=_round(statistics.median(measured)) if measured else None,
        p90=_round(percentile(measured, 0.9)) if measured else None,
    )


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _csat(rows: Sequence[ConversationRow], comments: Sequence[CommentRow]) -> Csat:
    scores = [r.csat_score for r in rows if r.csat_score is not None]
    closed = sum(1 for r in rows if r.closed_at is not None)
    counts = Counter(scores)
    return Csat(
        responses=len(scores),
        response_rate=_rate(len(scores), closed),
        average=_mean(scores),
        distribution={str(n): counts.get(n, 0) for n in range(1, 6)},
        satisfied_rate=_rate(sum(1 for s in scores if s >= 4), len(scores)),
        comments=[Comment(**vars(c)) for c in comments],
    )


def _bot_answers(answers: Sequence[AnswerRow]) -> BotAnswers:
    helpful = sum(1 for a in answers if a.helpful is True)
    unhelpful = sum(1 for a in answers if a.helpful is False)
    cited: Counter[str] = Counter()
    about: dict[str, CitedArticle] = {}
    for answer in answers:
        for citation in {c.get("article_id"): c for c in answer.citations}.values():
            article_id = citation.get("article_id")
            if not isinstance(article_id, str):
                continue
            cited[article_id] += 1
            about.setdefault(
                article_id,
                CitedArticle(
                    article_id=article_id,
                    title=str(citation.get("title") or article_id),
                    url=citation.get("url") or None,
                    citations=0,
                ),
            )
    top = sorted(cited.items(), key=lambda item: (-item[1], item[0]))[:TOP_ARTICLES]
    return BotAnswers(
        answers=len(answers),
        helpful=helpful,
        unhelpful=unhelpful,
        helpful_rate=_rate(helpful, helpful + unhelpful),
        top_articles=[about[a].model_copy(update={"citations": n}) for a, n in top],
    )


def _agents(rows: Sequence[ConversationRow], names: dict[int, str]) -> list[AgentFigures]:
    """Per agent: the conversations they wrote in (or own), first responses they gave."""
    mine: dict[int, list[ConversationRow]] = {}
    for row in rows:
        for agent_id in row.agents:
            mine.setdefault(agent_id, []).append(row)
    figures = []
    for agent_id, handled in mine.items():
        scores = [r.csat_score for r in handled if r.csat_score is not None]
        first = [r.first_response for r in handled if r.agents[0] == agent_id]
        figures.append(
            AgentFigures(
                agent_id=agent_id,
                name=names.get(agent_id, f"#{agent_id}"),
                conversations=len(handled),
                first_response_median=durations(first).median,
                csat_average=_mean(scores),
                csat_responses=len(scores),
            )
        )
    return sorted(figures, key=lambda f: (-f.conversations, f.name))


def _days(period: Period, rows: Sequence[ConversationRow]) -> list[Day]:
    by_day: dict[date, list[ConversationRow]] = {}
    for row in rows:
        by_day.setdefault(period.day_of(row.created_at), []).append(row)
    series = []
    for day in period.days():
        started = by_day.get(day, [])
        series.append(
            Day(
                day=day,
                conversations=len(started),
                handoffs=sum(1 for r in started if r.escalated_at is not None),
                csat_average=_mean([r.csat_score for r in started if r.csat_score is not None]),
            )
        )
    return series


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: Sequence[int]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _round(seconds: float) -> float:
    return round(seconds, 1)
