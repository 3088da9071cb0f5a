"""The local SEED enrolment: code format and uniqueness, expiry, one booking per request."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from invite_common.errors import TransientError

from approval.adapters import enrolment as enrolment_module
from approval.adapters.enrolment import (
    CODE_ALPHABET, DeviceEnrolment, EnrolmentUnavailable, LocalEnrolment, new_code,
)
from approval.models import SeedEnrolment

pytestmark = pytest.mark.both_databases("one booking per request and unique codes are unique constraints")

CODE = re.compile(r"SEED-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def book(service: DeviceEnrolment, request_id: str | None = None):
    return service.book(request_id or str(uuid.uuid4()), "jane.tan@tech.gov.sg", "jane.tan")


def test_the_code_alphabet_has_no_ambiguous_characters():
    assert not set("0O1I") & set(CODE_ALPHABET)
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET) == 32


def test_a_code_reads_like_seed_and_two_groups_of_four():
    for _ in range(200):
        assert CODE.fullmatch(new_code())


def test_codes_are_drawn_at_random():
    assert len({new_code() for _ in range(1000)}) == 1000


def test_an_unreachable_enrolment_service_is_worth_retrying():
    assert issubclass(EnrolmentUnavailable, TransientError)


def test_a_code_must_stay_valid_for_at_least_a_day():
    with pytest.raises(ValueError):
        LocalEnrolment(valid_days=0)


def test_a_booking_gets_a_well_formed_code(approval_db):
    assert CODE.fullmatch(book(LocalEnrolment()).code)


def test_a_code_expires_fourteen_days_after_booking_by_default(approval_db):
    before = dt.datetime.now(dt.timezone.utc)
    booked = book(LocalEnrolment())
    assert before <= booked.booked_at <= dt.datetime.now(dt.timezone.utc)
    assert booked.booked_at.tzinfo == dt.timezone.utc
    assert booked.expires_at - booked.booked_at == dt.timedelta(days=14)


def test_the_validity_period_is_configurable(approval_db):
    booked = book(LocalEnrolment(valid_days=3))
    assert booked.expires_at - booked.booked_at == dt.timedelta(days=3)


def test_booking_twice_for_one_request_returns_the_same_enrolment(approval_db):
    service, request_id = LocalEnrolment(), str(uuid.uuid4())
    first = book(service, request_id)
    assert book(service, request_id) == first
    assert book(LocalEnrolment(valid_days=30), request_id) == first
    assert SeedEnrolment.select().count() == 1


def test_the_stored_enrolment_reads_back_as_booked(approval_db):
    request_id = str(uuid.uuid4())
    booked = book(LocalEnrolment(), request_id)
    row = SeedEnrolment.get(SeedEnrolment.request_id == request_id)
    assert (row.code, row.booked_at, row.expires_at) == (booked.code, booked.booked_at, booked.expires_at)
    assert (row.email, row.username) == ("jane.tan@tech.gov.sg", "jane.tan")


def test_each_request_gets_its_own_code(approval_db):
    service = LocalEnrolment()
    codes = {book(service).code for _ in range(50)}
    assert len(codes) == 50


def test_a_code_drawn_twice_is_redrawn_rather_than_shared(approval_db, monkeypatch):
    service = LocalEnrolment()
    first = book(service)
    draws = iter([first.code, first.code, "SEED-2345-6789"])
    monkeypatch.setattr(enrolment_module, "new_code", lambda: next(draws))
    assert book(service).code == "SEED-2345-6789"
    assert SeedEnrolment.select().count() == 2
