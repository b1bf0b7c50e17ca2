"""When counsellors answer: office hours and holidays in the configured time zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import OfficeHours

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def is_open(hours: OfficeHours, now: datetime) -> bool:
    local = now.astimezone(hours.timezone)
    return (
        local.weekday() in hours.days
        and local.date() not in hours.holidays
        and hours.opens <= local.time() < hours.closes
    )


def next_opening(hours: OfficeHours, now: datetime) -> datetime:
    """The next moment counsellors are in (``now`` itself if they are)."""
    local = now.astimezone(hours.timezone)
    if is_open(hours, local):
        return local
    for offset in range(0, 370):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() not in hours.days or day in hours.holidays:
            continue
        opening = datetime.combine(day, hours.opens, tzinfo=hours.timezone)
        if opening > local:
            return opening
    return local  # pragma: no cover - no working day within a year: treat as open


def describe_hours(hours: OfficeHours) -> str:
    days = sorted(hours.days)
    if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        span = f"{_DAY_NAMES[days[0]]}–{_DAY_NAMES[days[-1]]}"
    else:
        span = ", ".join(_DAY_NAMES[d] for d in days)
    return f"{span} {hours.opens:%H:%M}–{hours.closes:%H:%M}"
