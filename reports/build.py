"""Support reports: what the bot and the team did in a period, for the reports page and API.

Pure data (SQLAlchemy queries and arithmetic); the web layer is `app/routes/reports.py`.
The period is `reports.periods`, the result models `reports.models`, the rows `reports._rows`.

A conversation belongs to the day it started, in the configured time zone: its handoff,
waiting time, first response, outcome and rating count for that day, so the figures of a
period always describe the same set of conversations. Bot answers belong to the day they
were sent. Percentiles are computed here, not in SQL, so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports._rows import (
    AnswerRow,
    CommentRow,
    ConversationRow,
    answer_rows,
    comment_rows,
    conversation_rows,
    handoff_reasons,
    user_names,
)
from reports.models import (
    AgentFigures,
    BotAnswers,
    ChannelFigures,
    CitedArticle,
    Comment,
    Csat,
    Day,
    Durations,
    Report,
)
from reports.periods import Period

TOP_ARTICLES = 10
LATEST_COMMENTS = 10


async def build_report(sessions: async_sessionmaker[AsyncSession], period: Period) -> Report:
    """The report of `period`; an empty period gives zeros and None, never an error."""
    async with sessions() as session:
        return await _build(session, period)


async def _build(session: AsyncSession, period: Period) -> Report:
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
        channels=_channels(rows),
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


def _channels(rows: Sequence[ConversationRow]) -> list[ChannelFigures]:
    """Conversations by how they came in: the widget first, then e-mail."""
    by_channel: dict[str, list[ConversationRow]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    order = sorted(by_channel, key=lambda c: (c != "chat", c))
    figures = []
    for channel in order:
        started = by_channel[channel]
        handed = sum(1 for r in started if r.escalated_at is not None)
        figures.append(
            ChannelFigures(
                channel=channel,
                conversations=len(started),
                bot_only=len(started) - handed,
                handed_off=handed,
            )
        )
    return figures


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
