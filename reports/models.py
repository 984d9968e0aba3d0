"""What a report holds: the figures of one period, as pydantic models (the API's schema)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


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


class ChannelFigures(BaseModel):
    """The period's conversations that came in one way: the widget (chat) or by mail."""

    channel: str  # "chat" or "email"
    conversations: int
    bot_only: int
    handed_off: int


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
    first_response: Durations  # the latest claim (or escalation) -> the first reply after it
    outcomes: dict[str, int]
    csat: Csat
    bot_answers: BotAnswers
    agents: list[AgentFigures]
    days: list[Day]
    channels: list[ChannelFigures] = []  # chat first, then e-mail; only channels with any
