"""Report periods on their own: parsing query values into days [start, end) in a time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from reports.periods import Period, ReportError


def test_the_default_and_an_open_ended_period() -> None:
    assert Period.parse(None, None, None, "Asia/Tokyo", today=date(2026, 3, 3)) == Period(
        date(2026, 2, 2), date(2026, 3, 4), "Asia/Tokyo"
    ), "the last 30 days, today included"
    assert Period.parse("2026-03-01", None, "JA", "UTC", today=date(2026, 3, 3)) == Period(
        date(2026, 3, 1), date(2026, 3, 4), "UTC", "ja"
    )
    assert Period.parse(" ", "", " ", "UTC", today=date(2026, 3, 3)).lang is None
    with pytest.raises(ReportError, match="after 'from'"):
        Period.parse("2026-04-01", None, None, "UTC", today=date(2026, 3, 3))


def test_days_fall_at_midnight_in_the_period_time_zone() -> None:
    tokyo = Period(date(2026, 3, 1), date(2026, 3, 3), "Asia/Tokyo")
    assert tokyo.bounds() == (
        datetime(2026, 2, 28, 15, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
    )
    assert tokyo.days() == [date(2026, 3, 1), date(2026, 3, 2)]
    assert tokyo.day_of(datetime(2026, 2, 28, 15, 0, tzinfo=UTC)) == date(2026, 3, 1)
    assert tokyo.day_of(datetime(2026, 2, 28, 14, 59, tzinfo=UTC)) == date(2026, 2, 28)


def test_366_days_is_the_longest_period() -> None:
    assert len(Period.parse("2025-03-02", "2026-03-03", None, "UTC").days()) == 366
    with pytest.raises(ReportError, match="the period has 367 days; at most 366 are allowed"):
        Period.parse("2025-03-01", "2026-03-03", None, "UTC")
