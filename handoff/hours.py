"""Business hours: weekly opening times in a time zone, minus holidays."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time.max
"""How an opening that ends at 24:00 (open until midnight, or all day) is kept."""
_RULE = re.compile(
    r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$"
)


class HoursError(ValueError):
    """A business-hours setting that cannot be read; says what is wrong."""


@dataclass(frozen=True)
class BusinessHours:
    timezone: ZoneInfo
    weekly: dict[int, list[tuple[time, time]]]
    holidays: frozenset[date]

    @classmethod
    def parse(cls, spec: str, timezone: str, holidays: Iterable[str] = ()) -> BusinessHours:
        """Parse e.g. "mon-fri 09:00-18:00; sat 10:00-14:00"; "mon-sun 00:00-24:00" is
        always open.

        Raises:
            HoursError: naming the part that is wrong.
        """
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"unknown time zone {timezone!r} (expected e.g. Asia/Tokyo)") from None
        weekly: dict[int, list[tuple[time, time]]] = {d: [] for d in range(7)}
        for part in filter(None, (p.strip() for p in spec.lower().split(";"))):
            match = _RULE.match(part)
            if match is None:
                raise HoursError(f"business hours {part!r}: expected e.g. 'mon-fri 09:00-18:00'")
            first, last, h1, m1, h2, m2 = match.groups()
            if first not in DAYS or (last or first) not in DAYS:
                raise HoursError(f"business hours {part!r}: days are {', '.join(DAYS)}")
            try:
                start = time(int(h1), int(m1))
                end = END_OF_DAY if (int(h2), int(m2)) == (24, 0) else time(int(h2), int(m2))
            except ValueError:
                raise HoursError(f"business hours {part!r}: not a valid time of day") from None
            if end <= start:
                raise HoursError(f"business hours {part!r}: the end must be after the start")
            a, b = DAYS.index(first), DAYS.index(last or first)
            for day in range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]:
                weekly[day].append((start, end))
        days: set[date] = set()
        for holiday in holidays:
            try:
                days.add(date.fromisoformat(holiday.strip()))
            except ValueError:
                raise HoursError(
                    f"holiday {holiday!r} is not a date (expected 2026-12-31)"
                ) from None
        return cls(zone, weekly, frozenset(days))

    def spans(self) -> tuple[tuple[int, time, time], ...]:
        """Every opening as (weekday 0 = Monday, start, end), in the business's time zone."""
        return tuple((d, a, b) for d, spans in self.weekly.items() for a, b in spans)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        if local.date() in self.holidays:
            return False
        now = local.time()
        return any(
            start <= now and (now < end or end == END_OF_DAY)
            for start, end in self.weekly[local.weekday()]
        )

    def next_opening(self, moment: datetime) -> datetime | None:
        """When it next opens (None when there are no opening hours at all)."""
        local = moment.astimezone(self.timezone)
        for offset in range(0, 370):
            day = (local + timedelta(days=offset)).date()
            if day in self.holidays:
                continue
            for start, _end in sorted(self.weekly[day.weekday()]):
                opening = datetime.combine(day, start, self.timezone)
                if opening > local:
                    return opening
        return None
