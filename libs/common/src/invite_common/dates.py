"""Dates and times as people read them, in one place: Singapore time, with the zone named.

Requesters, approvers and invitees are in Singapore, so every page and email shows Singapore
time, e.g. "30 Nov 2026, 4:32 pm SGT". Machines get UTC ISO-8601 instead (see `iso`).
"""
from __future__ import annotations

import datetime as dt

# Singapore has kept UTC+8 without daylight saving since 1982; a fixed offset avoids
# depending on the tz database being installed in the container.
SINGAPORE_TIME = dt.timezone(dt.timedelta(hours=8), "SGT")

# Spelt out rather than strftime("%B"), which follows the process locale.
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")

Moment = dt.datetime | str


def to_singapore(value: Moment) -> dt.datetime:
    """Return a moment (aware, naive UTC, or ISO-8601 text) as Singapore time."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(SINGAPORE_TIME)


def short_date(value: Moment) -> str:
    """Format a moment as a Singapore calendar date, e.g. '30 Nov 2026'."""
    local = to_singapore(value)
    return f"{local.day} {_MONTHS[local.month - 1][:3]} {local.year}"


def long_date(value: Moment) -> str:
    """Format a moment as a Singapore calendar date, e.g. '30 November 2026'."""
    local = to_singapore(value)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def clock_time(value: Moment) -> str:
    """Format a moment as a Singapore wall-clock time, e.g. '4:32 pm'."""
    local = to_singapore(value)
    return f"{local.hour % 12 or 12}:{local:%M} {'am' if local.hour < 12 else 'pm'}"


def date_and_time(value: Moment, *, long: bool = False) -> str:
    """Format a moment with its zone named, e.g. '30 Nov 2026, 4:32 pm SGT' ('30 November ...' if long)."""
    day = long_date(value) if long else short_date(value)
    return f"{day}, {clock_time(value)} SGT"


def iso(value: Moment) -> str:
    """Give a moment in UTC ISO-8601, for machines (an HTML <time> element, an API)."""
    local = to_singapore(value)
    return local.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
