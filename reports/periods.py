"""The period a report covers: days [start, end) in a time zone, maybe one language.

A conversation belongs to the day it started, in the configured time zone, so the figures of
a period always describe the same set of conversations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366
DEFAULT_DAYS = 30
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
