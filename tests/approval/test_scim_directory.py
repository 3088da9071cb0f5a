"""The SCIM directory against a real SCIM 2.0 server: lookups, creation, conflicts, and a directory
that is slow, busy, down or loses its answers."""
from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from invite_common.errors import PermanentError, TransientError
from approval import settings as approval_settings

from approval.adapters.directory import AccountExists, DirectoryUnavailable, InvalidUsername, UsernameTaken
from approval.adapters.scim import ScimDirectory, retry_after_seconds

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def server(scim):
    """The shared SCIM server (tests/conftest.py), named for what these tests talk to."""
    return scim


@pytest.fixture
def directory(server):
    d = ScimDirectory(server.url, server.token, timeout=2, attempts=3, backoff=0.05)
    yield d
    d.close()


def officer(directory, email="jane.tan@tech.gov.sg", request_id=None, **extra):
    return directory.create_account(request_id or str(uuid.uuid4()), None, email, "Jane", "Tan", "public_officer", **extra)


def vendor(directory, username="Sam_Lee", email="sam@vendor.example", request_id=None):
    return directory.create_account(request_id or str(uuid.uuid4()), username, email, "Sam", "Lee", "vendor")


def test_creates_the_user_with_core_and_enterprise_attributes(server, directory):
    request_id = str(uuid.uuid4())
    account = officer(directory, request_id=request_id, organisation="GovTech", department="Platform",
                      contact_number="+65 9123 4567")
    [user] = server.users
    assert user["userName"] == account.username == "jane.tan"
    assert user["id"] == account.account_id
    assert user["externalId"] == request_id
    assert user["name"] == {"givenName": "Jane", "familyName": "Tan", "formatted": "Jane Tan"}
    assert user["emails"] == [{"value": "jane.tan@tech.gov.sg", "type": "work", "primary": True}]
    assert user["phoneNumbers"] == [{"value": "+65 9123 4567", "type": "work"}]
    assert user["userType"] == "Public Officer"
    assert user["active"] is True
    assert user[ENTERPRISE] == {"organization": "GovTech", "department": "Platform"}
    assert account.created_at.tzinfo == dt.timezone.utc


def test_finds_an_account_by_email_whatever_its_case(server, directory):
    made = vendor(directory)
    assert directory.find_by_email("SAM@Vendor.Example") == made
    assert directory.find_by_email("nobody@vendor.example") is None


def test_finds_the_account_of_the_person_a_tagged_address_reaches(server, directory):
    made = vendor(directory)
    assert directory.find_by_email("Sam+Other@vendor.example") == made
    tagged = officer(directory, email="jane+x@tech.gov.sg")
    assert directory.find_by_email("jane+x@tech.gov.sg") == tagged
    assert directory.find_by_email("samuel+x@vendor.example") is None


def test_an_existing_account_for_the_email_is_a_permanent_refusal(server, directory):
    officer(directory)
    with pytest.raises(AccountExists) as refused:
        officer(directory, email="Jane.Tan@tech.gov.sg")
    assert isinstance(refused.value, PermanentError)
    assert "already holds an account for this email" in str(refused.value)
    assert len(server.users) == 1


def test_a_vendor_username_taken_in_another_case_is_refused(server, directory):
    vendor(directory, "Sam_Lee")
    with pytest.raises(UsernameTaken):
        vendor(directory, "sam_lee", email="other@vendor.example")
    assert len(server.users) == 1


def test_a_409_on_the_username_is_a_permanent_refusal(server, directory):
    """Another client takes the name between our look and our write: the server's 409 decides."""
    server.race_next_create({"userName": "sam_lee", "emails": [{"value": "first@vendor.example"}]})
    with pytest.raises(UsernameTaken) as refused:
        vendor(directory, "Sam_Lee")
    assert isinstance(refused.value, PermanentError)
    assert [u["userName"] for u in server.users] == ["sam_lee"]


def test_a_409_on_a_derived_username_moves_on_to_the_next_number(server, directory):
    server.race_next_create({"userName": "jane.tan", "emails": [{"value": "other@tech.gov.sg"}]})
    assert officer(directory).username == "jane.tan2"
    assert sorted(u["userName"] for u in server.users) == ["jane.tan", "jane.tan2"]


def test_a_taken_derived_username_gets_the_next_free_number(server, directory):
    server.add_user({"userName": "jane.tan", "emails": [{"value": "someone@vendor.example"}]})
    server.add_user({"userName": "Jane.Tan2"})
    assert officer(directory).username == "jane.tan3"


def test_a_vendor_without_a_valid_username_is_refused_before_asking_the_directory(server, directory):
    with pytest.raises(InvalidUsername):
        vendor(directory, "sam..lee")
    with pytest.raises(InvalidUsername):
        directory.create_account(str(uuid.uuid4()), None, "sam@vendor.example", "Sam", "Lee", "vendor")
    assert server.requests == []


def test_asking_twice_for_one_request_returns_the_same_user(server, directory):
    request_id = str(uuid.uuid4())
    assert officer(directory, request_id=request_id) == officer(directory, request_id=request_id)
    assert len(server.users) == 1 and server.creates() == 1


def test_a_create_whose_answer_was_lost_is_found_on_retry_not_made_twice(server):
    server.lose_create_answers(1.5)
    directory = ScimDirectory(server.url, server.token, timeout=0.5, attempts=3, backoff=0.05)
    request_id = str(uuid.uuid4())
    account = officer(directory, request_id=request_id)
    assert server.creates() == 1
    [user] = server.users
    assert (user["externalId"], user["id"]) == (request_id, account.account_id)


def test_a_server_that_times_out_is_a_transient_failure(server):
    server.answer_slowly(1.0)
    directory = ScimDirectory(server.url, server.token, timeout=0.2, attempts=2, backoff=0.05)
    with pytest.raises(DirectoryUnavailable) as unavailable:
        officer(directory)
    assert isinstance(unavailable.value, TransientError)
    assert "Timeout" in str(unavailable.value)


def test_a_server_that_is_down_then_back_gets_the_user_once(server, directory):
    server.go_down()
    request_id = str(uuid.uuid4())
    with pytest.raises(DirectoryUnavailable):
        officer(directory, request_id=request_id)
    server.come_back()
    account = officer(directory, request_id=request_id)
    assert [u["id"] for u in server.users] == [account.account_id]


def test_5xx_answers_are_retried_with_backoff(server, directory):
    server.answer_busy(2, status=503)
    assert officer(directory).username == "jane.tan"
    assert len(server.users) == 1


def test_429_waits_as_long_as_retry_after_says(server, directory):
    server.answer_busy(1, status=429, retry_after="1")
    started = time.monotonic()
    officer(directory)
    assert time.monotonic() - started >= 1.0
    assert len(server.users) == 1


def test_a_retry_after_longer_than_we_wait_in_process_is_left_to_the_consumer(server):
    directory = ScimDirectory(server.url, server.token, timeout=2, attempts=3, backoff=0.05, max_wait=5)
    server.answer_busy(1, status=429, retry_after="120")
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="429"):
        officer(directory)
    assert time.monotonic() - started < 2
    assert server.users == []


def test_a_wrong_token_is_reported_without_creating_anything(server):
    directory = ScimDirectory(server.url, "not-the-token", timeout=2, attempts=1)
    with pytest.raises(DirectoryUnavailable, match="credentials"):
        officer(directory)
    assert server.users == []


def test_retry_after_reads_seconds_and_http_dates():
    now = dt.datetime(2026, 1, 5, 8, 0, 0, tzinfo=dt.timezone.utc)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("Mon, 05 Jan 2026 08:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 05 Jan 2026 07:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_the_directory_url_chooses_the_scim_directory_and_its_absence_the_local_one(server):

    from approval.bootstrap import directory_for
    from approval.adapters.directory import LocalDirectory

    chosen = directory_for(approval_settings.load({"DIRECTORY_URL": server.url, "DIRECTORY_TOKEN": server.token}))
    assert isinstance(chosen, ScimDirectory)
    assert officer(chosen).username == "jane.tan"
    chosen.close()
    assert isinstance(directory_for(approval_settings.load({})), LocalDirectory)
