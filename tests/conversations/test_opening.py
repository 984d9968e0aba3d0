"""What customers are told outside business hours: when the team is back, in their words."""

from __future__ import annotations

from datetime import UTC, datetime

from conversations.opening import back_at, outside_hours, weekly_hours, zone_name
from conversations.ports import Availability
from handoff.hours import BusinessHours

HOURS = BusinessHours.parse("mon-fri 09:00-18:00; sat 10:00-14:00", "Asia/Tokyo")
WEEKLY = HOURS.spans()
# Sunday 04:50 in Tokyo
SUNDAY_NIGHT = datetime(2026, 11, 29, 4, 50, tzinfo=HOURS.timezone).astimezone(UTC)


def closed_now() -> Availability:
    opening = HOURS.next_opening(SUNDAY_NIGHT)
    return Availability(False, 0, "raw", opening, WEEKLY, "Asia/Tokyo")


def test_the_next_opening_is_said_as_people_say_it() -> None:
    opening = HOURS.next_opening(SUNDAY_NIGHT)
    assert opening is not None
    assert back_at(opening, "Asia/Tokyo", "en", SUNDAY_NIGHT) == (
        "We're back tomorrow at 9:00 (Japan time)."
    )
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=HOURS.timezone)
    assert (
        back_at(opening, "Asia/Tokyo", "en", saturday) == "We're back Monday at 9:00 (Japan time)."
    )
    assert (
        back_at(opening, "Asia/Tokyo", "ja", saturday)
        == "月曜 9:00 から対応いたします（日本時間）。"
    )
    far = datetime(2026, 11, 1, tzinfo=UTC)
    assert (
        back_at(opening, "Asia/Tokyo", "ja", far)
        == "11月30日 9:00 から対応いたします（日本時間）。"
    )


def test_hours_are_written_for_people_not_as_the_raw_setting() -> None:
    assert weekly_hours(WEEKLY, "en") == "Monday to Friday 9:00–18:00; Saturday 10:00–14:00"
    assert weekly_hours(WEEKLY, "ja") == "月曜〜金曜 9:00〜18:00、土曜 10:00〜14:00"
    late = BusinessHours.parse("mon-sun 00:00-24:00", "Asia/Tokyo").spans()
    assert weekly_hours(late, "en") == "Monday to Sunday 0:00–24:00"
    assert zone_name("Europe/Berlin", "en") == "Berlin time"
    text = outside_hours(closed_now(), "ja", SUNDAY_NIGHT)
    assert "明日 9:00 から対応いたします" in text and "mon-fri" not in text
    assert "Asia/Tokyo" not in outside_hours(closed_now(), "en", SUNDAY_NIGHT)
