"""When the team is back and its hours, written for people in the customer's language.

"We're back Monday at 9:00 (Japan time)", 「月曜 9:00 から対応いたします（日本時間）」:
never the raw setting (`mon-fri 09:00-18:00 (Asia/Tokyo)`).
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot import messages
from conversations.ports import Availability


def zone_name(zone: str, lang: str) -> str:
    """ "Japan time" for Asia/Tokyo; "Berlin time" for a zone without a name of its own."""
    named = messages.ZONE_NAMES.get(zone, {})
    base = lang.split("-", 1)[0]
    if base in named:
        return named[base]
    city = zone.rsplit("/", 1)[-1].replace("_", " ") or zone
    return messages.text("zone_time", lang, city=city)


def _separator(lang: str) -> str:
    return "、" if lang.startswith("ja") else "; "


def _clock(moment: time) -> str:
    if moment == time.max:  # an opening that runs to midnight
        return "24:00"
    return f"{moment.hour}:{moment.minute:02d}"


def back_at(opening: datetime, zone: str, lang: str, now: datetime) -> str:
    """ "We're back Monday at 9:00 (Japan time)." for an opening in the business's zone."""
    local = opening.astimezone(ZoneInfo(zone)) if zone else opening
    today = now.astimezone(local.tzinfo).date()
    days = (local.date() - today).days
    clock = _clock(local.time())
    if days == 0:
        when = messages.text("when_today", lang, time=clock)
    elif days == 1:
        when = messages.text("when_tomorrow", lang, time=clock)
    elif days < 7:
        weekday = messages.text("weekdays", lang).split()[local.weekday()]
        when = messages.text("when_weekday", lang, weekday=weekday, time=clock)
    else:
        month = messages.text("months", lang).split()[local.month - 1]
        when = messages.text(
            "when_date",
            lang,
            day=local.day,
            month=month,
            time=clock,
        )
    return messages.text("back_at", lang, when=when, zone=zone_name(zone, lang))


def weekly_hours(weekly: tuple[tuple[int, time, time], ...], lang: str) -> str:
    """ "Monday to Friday 9:00–18:00; Saturday 10:00–14:00" from the opening hours."""
    names = messages.text("weekdays", lang).split()
    spans: dict[tuple[time, time], list[int]] = {}
    for day, start, end in sorted(weekly):
        spans.setdefault((start, end), []).append(day)
    parts: list[str] = []
    for (start, end), days in spans.items():
        runs: list[list[int]] = []
        for day in days:
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        for run in runs:
            if len(run) > 2:
                label = messages.text("days_range", lang, first=names[run[0]], last=names[run[-1]])
            else:
                label = _separator(lang).join(names[d] for d in run)
            parts.append(
                messages.text("hours_span", lang, days=label, start=_clock(start), end=_clock(end))
            )
    return _separator(lang).join(parts)


def outside_hours(available: Availability, lang: str, now: datetime) -> str:
    """What a customer is told outside business hours: when the team is back, the hours."""
    back = (
        back_at(available.next_opening, available.timezone, lang, now)
        if available.next_opening is not None
        else ""
    )
    text = messages.text("handoff_outside_hours", lang, back=back).replace("  ", " ")
    hours = weekly_hours(available.weekly, lang)
    if not hours:
        return text
    if available.timezone:
        hours = f"{hours} ({zone_name(available.timezone, lang)})"
    separator = "" if lang.startswith("ja") else " "
    return f"{text}{separator}{messages.text('support_hours', lang, hours=hours)}"
