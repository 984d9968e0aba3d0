"""Business hours: reading the setting, open or closed in Tokyo, holidays, next opening."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handoff.hours import BusinessHours, HoursError

TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = "mon-fri 09:00-18:00"


def tokyo(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment in November 2026, Tokyo time (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=TOKYO)


def hours(spec: str = WEEKDAYS, *holidays: str) -> BusinessHours:
    return BusinessHours.parse(spec, "Asia/Tokyo", holidays)


@pytest.mark.parametrize(
    ("spec", "bad_part", "hint"),
    [
        ("mon-fri 9-18", "mon-fri 9-18", "expected e.g. 'mon-fri 09:00-18:00'"),
        ("mon-fry 09:00-18:00", "mon-fry 09:00-18:00", "days are mon, tue"),
        ("mon 25:00-26:00", "mon 25:00-26:00", "not a valid time of day"),
        ("mon 18:00-09:00", "mon 18:00-09:00", "the end must be after the start"),
        ("mon 09:00-09:00", "mon 09:00-09:00", "the end must be after the start"),
        ("mon-fri 09:00-18:00; sun 10-12", "sun 10-12", "expected e.g."),
    ],
)
def test_a_bad_setting_names_the_part_that_is_wrong(spec: str, bad_part: str, hint: str) -> None:
    with pytest.raises(HoursError) as wrong:
        hours(spec)
    assert repr(bad_part) in str(wrong.value) and hint in str(wrong.value)


def test_a_bad_time_zone_or_holiday_is_named() -> None:
    with pytest.raises(HoursError, match=r"unknown time zone 'Asia/Tokio' \(expected e\.g\."):
        BusinessHours.parse(WEEKDAYS, "Asia/Tokio")
    with pytest.raises(HoursError, match=r"holiday '2026-13-01' is not a date"):
        hours(WEEKDAYS, "2026-11-23", "2026-13-01")


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (tokyo(23, 8, 59, 59), False),
        (tokyo(23, 9), True),  # opening time is open
        (tokyo(23, 17, 59, 59), True),
        (tokyo(23, 18), False),  # closing time is closed
        (tokyo(27, 12), True),  # Friday
        (tokyo(28, 12), False),  # Saturday
        (tokyo(22, 12), False),  # Sunday
        # judged by the clock in Tokyo, not the server's UTC clock:
        (datetime(2026, 11, 23, 0, 30, tzinfo=UTC), True),  # Mon 09:30 in Tokyo
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), False),  # Mon 08:30 in Tokyo
        (datetime(2026, 11, 27, 9, 30, tzinfo=UTC), False),  # Fri 18:30 in Tokyo
    ],
)
def test_open_and_closed_at_the_boundaries(moment: datetime, is_open: bool) -> None:
    assert hours().is_open(moment) is is_open


def test_several_windows_a_day_and_a_range_across_the_weekend() -> None:
    split = hours("Mon 09:00-12:00; mon 13:00-18:00")  # upper case is fine too
    assert split.is_open(tokyo(23, 11, 59)) and split.is_open(tokyo(23, 13))
    assert not split.is_open(tokyo(23, 12, 30)), "closed for lunch"
    weekend = hours("sat-mon 10:00-12:00")
    assert [weekend.is_open(tokyo(day, 11)) for day in range(21, 25)] == [True, True, True, False]


def test_open_until_midnight_and_all_day() -> None:
    """A desk open around the clock used to be written 00:00-23:59, and was closed for the
    last minute of every day."""
    always = hours("mon-sun 00:00-24:00")
    assert all(always.is_open(tokyo(23, h, m, 59)) for h, m in [(0, 0), (12, 0), (23, 59)])
    assert always.is_open(tokyo(23, 23, 59, 59).replace(microsecond=999_999))
    late = hours("fri 18:00-24:00")
    assert late.is_open(tokyo(27, 23, 59, 59)) and not late.is_open(tokyo(28, 0, 0, 1))
    with pytest.raises(HoursError, match="not a valid time of day"):
        hours("mon 24:00-24:30")


def test_a_holiday_is_closed_all_day() -> None:
    with_holiday = hours(WEEKDAYS, "2026-11-23")  # Labour Thanksgiving Day
    assert not with_holiday.is_open(tokyo(23, 10))
    assert with_holiday.is_open(tokyo(24, 10))
    assert hours("", "2026-11-23").weekly == {day: [] for day in range(7)}
    assert not hours("").is_open(tokyo(24, 10)), "no opening hours: never open"


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (tokyo(23, 8), tokyo(23, 9)),  # later today
        (tokyo(23, 10), tokyo(24, 9)),  # open now: the next opening is tomorrow's
        (tokyo(27, 18, 30), tokyo(30, 9)),  # Friday evening: Monday morning
        (datetime(2026, 11, 27, 9, 30, tzinfo=UTC), tokyo(30, 9)),
    ],
)
def test_next_opening(moment: datetime, opening: datetime) -> None:
    found = hours().next_opening(moment)
    assert found == opening
    assert found is not None and found.utcoffset() == opening.utcoffset()


def test_next_opening_skips_holidays_and_is_none_without_hours() -> None:
    assert hours(WEEKDAYS, "2026-11-23").next_opening(tokyo(21, 12)) == tokyo(24, 9)
    assert hours("").next_opening(tokyo(21, 12)) is None
