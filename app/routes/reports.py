"""Support reports for team leads and agents: the /reports page, its JSON API and CSV."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette import status

from app.deps import AgentDep, ServicesDep
from app.errors import HTTPError
from app.routes._responses import SIGNED_IN, page, refused
from app.routes.templates import templates
from app.services import Services
from reports.build import build_report
from reports.export import csv_filename, csv_table
from reports.models import Report
from reports.periods import MAX_DAYS, Period, ReportError

router = APIRouter(responses=SIGNED_IN)
PRESETS = (7, 30, 90)

From = Annotated[
    str | None,
    Query(
        alias="from",
        description="First day of the period (ISO date, YYYY-MM-DD, in the configured time "
        "zone). Default: 30 days before `to`.",
        examples=["2026-11-01"],
    ),
]
To = Annotated[
    str | None,
    Query(
        description="First day NOT included (ISO date). Must be after `from`, at most "
        f"{MAX_DAYS} days later. Default: tomorrow (the period includes today).",
        examples=["2026-12-01"],
    ),
]
Lang = Annotated[
    str | None,
    Query(description="Only conversations in this language (e.g. en, ja).", examples=["ja"]),
]
# a date that is no ISO date, `to` not after `from`: the message of `invalid_period` says
PERIOD = refused(422, why={422: "A period or language that cannot be used (`invalid_period`)"})


class InvalidPeriod(HTTPError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "invalid_period"


def _period(services: Services, start: str | None, end: str | None, lang: str | None) -> Period:
    try:
        return Period.parse(start, end, lang, services.settings.timezone)
    except ReportError as exc:
        raise InvalidPeriod(str(exc)) from None


async def _report(services: Services, period: Period) -> Report:
    return await build_report(services.sessions, period)


@router.get("/api/reports", responses=PERIOD)
async def get_report(
    services: ServicesDep, signed: AgentDep, start: From = None, to: To = None, lang: Lang = None
) -> Report:
    """Conversations, automation rate, handoffs, waiting and response times, CSAT, bot answers
    and agents for the period [from, to) in the configured time zone."""
    return await _report(services, _period(services, start, to, lang))


@router.get(
    "/api/reports.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "A CSV file"},
        **PERIOD,
    },
)
async def report_csv(
    services: ServicesDep,
    signed: AgentDep,
    start: From = None,
    to: To = None,
    lang: Lang = None,
    table: Annotated[
        Literal["days", "agents", "channels"],
        Query(description="The per-day series, the agents table, or conversations by channel"),
    ] = "days",
) -> Response:
    """The per-day series or the per-agent table of the period, as a CSV download."""
    period = _period(services, start, to, lang)
    report = await _report(services, period)
    name = csv_filename(period, table)
    return Response(
        csv_table(report, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/reports",
    response_class=HTMLResponse,
    responses=page(422, why={422: "The page, saying what was wrong with the period"}),
)
async def reports_page(
    request: Request,
    services: ServicesDep,
    signed: AgentDep,
    start: From = None,
    to: To = None,
    lang: Lang = None,
) -> Response:
    """The reports page: tiles, charts and tables (the tables work without JavaScript)."""
    error = None
    try:
        period = Period.parse(start, to, lang, services.settings.timezone)
    except ReportError as exc:
        error = str(exc)
        period = Period.parse(None, None, None, services.settings.timezone)
    report = await _report(services, period)
    return templates.TemplateResponse(
        request,
        "reports.html",
        {
            "user": signed.user,
            "csrf_token": signed.csrf_token,
            "title": "Reports",
            "report": report,
            "report_data": report.model_dump(mode="json"),
            "error": error,
            "presets": _presets(period, services.settings.timezone),
            "languages": sorted(services.retriever.languages),
            "last_day": period.end - timedelta(days=1),
        },
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK,
    )


def _presets(period: Period, timezone: str) -> list[dict[str, Any]]:
    """Links for the last 7/30/90 days (today included), keeping the language filter."""
    tomorrow = datetime.now(ZoneInfo(timezone)).date() + timedelta(days=1)
    return [
        {
            "days": days,
            "start": (tomorrow - timedelta(days=days)).isoformat(),
            "end": tomorrow.isoformat(),
            "current": period.end == tomorrow and period.start == tomorrow - timedelta(days=days),
        }
        for days in PRESETS
    ]
