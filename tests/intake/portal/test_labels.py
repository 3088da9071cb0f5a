"""Words and numbers the portal shows: page numbers beside previous/next, contact numbers, times."""
import datetime as dt

import pytest

from intake.portal.labels import page_numbers, phone, when


@pytest.mark.parametrize("current, count, shown", [
    (1, 1, [1]),
    (1, 3, [1, 2, 3]),
    (1, 40, [1, 2, 3, None, 40]),
    (7, 40, [1, None, 5, 6, 7, 8, 9, None, 40]),
    (4, 40, [1, 2, 3, 4, 5, 6, None, 40]),  # one left-out page is shown rather than "…"
    (40, 40, [1, None, 38, 39, 40]),
])
def test_page_numbers_keep_the_first_the_last_and_those_near_the_current_page(current, count, shown):
    assert page_numbers(current, count) == shown


@pytest.mark.parametrize("stored, shown", [
    ("+6591234567", "+65 9123 4567"),
    ("+8613912345678", "+86 139 1234 5678"),
    ("", "—"),
    ("not a number", "not a number"),
])
def test_contact_numbers_read_as_people_write_them(stored, shown):
    assert phone(stored) == shown


def test_times_are_singapore_time_and_say_so():
    assert when(dt.datetime(2026, 12, 31, 16, 5, tzinfo=dt.timezone.utc)) == "1 Jan 2027, 12:05 am SGT"
