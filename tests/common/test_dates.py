"""Dates shown to people: Singapore time with the zone named, whatever the input's form."""
from __future__ import annotations

import datetime as dt

import pytest

from invite_common import dates

# 23:05 UTC on 31 December is already 7:05 am on New Year's Day in Singapore.
LATE_UTC = dt.datetime(2026, 12, 31, 23, 5, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("value", [LATE_UTC, LATE_UTC.replace(tzinfo=None), "2026-12-31T23:05:00+00:00", "2027-01-01T07:05:00+08:00"])
def test_every_form_of_a_moment_reads_as_the_same_singapore_time(value):
    assert dates.date_and_time(value) == "1 Jan 2027, 7:05 am SGT"


def test_long_form_spells_out_the_month():
    assert dates.date_and_time(LATE_UTC, long=True) == "1 January 2027, 7:05 am SGT"
    assert dates.long_date(LATE_UTC) == "1 January 2027"


def test_noon_and_midnight_read_as_twelve():
    assert dates.clock_time(dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.timezone.utc)) == "12:00 pm"
    assert dates.clock_time(dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.timezone.utc)) == "12:00 am"


def test_machines_get_utc():
    assert dates.iso("2027-01-01T07:05:00+08:00") == "2026-12-31T23:05:00+00:00"
    assert dates.short_date(LATE_UTC) == "1 Jan 2027"
