"""The local account directory: unique usernames, derived usernames, one account per request."""
from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from invite_common.errors import PermanentError, TransientError

from approval.adapters.directory import (
    AccountDirectory, DirectoryUnavailable, InvalidUsername, LocalDirectory, UsernameTaken,
)
from approval.models import Account
from approval.usernames import is_valid_username

pytestmark = pytest.mark.both_databases("usernames are unique by index and looked up case-insensitively")


def officer(directory: AccountDirectory, email: str, request_id: str | None = None,
            first_name: str = "Jane", last_name: str = "Tan"):
    return directory.create_account(
        request_id or str(uuid.uuid4()), None, email, first_name, last_name, "public_officer")


def vendor(directory: AccountDirectory, username: str, request_id: str | None = None):
    return directory.create_account(
        request_id or str(uuid.uuid4()), username, "sam@vendor.example", "Sam", "Lee", "vendor")


def test_directory_errors_say_whether_to_retry():
    assert issubclass(UsernameTaken, PermanentError)
    assert issubclass(InvalidUsername, PermanentError)
    assert issubclass(DirectoryUnavailable, TransientError)


def test_a_public_officer_gets_the_username_from_their_email(approval_db):
    account = officer(LocalDirectory(), "jane.tan@tech.gov.sg")
    assert account.username == "jane.tan"
    assert uuid.UUID(account.account_id)
    assert account.created_at.tzinfo == dt.timezone.utc


def test_a_taken_derived_username_gets_the_next_free_number(approval_db):
    directory = LocalDirectory()
    names = [officer(directory, "jane.tan@tech.gov.sg").username for _ in range(3)]
    names.append(officer(directory, "Jane.Tan@hive.gov.sg").username)
    assert names == ["jane.tan", "jane.tan2", "jane.tan3", "jane.tan4"]


def test_suffixing_skips_numbers_already_held(approval_db):
    directory = LocalDirectory()
    vendor(directory, "Jane.Tan2")
    assert officer(directory, "jane.tan@tech.gov.sg").username == "jane.tan"
    assert officer(directory, "jane.tan@tech.gov.sg").username == "jane.tan3"


def test_an_officer_keeps_the_name_of_their_email_though_a_vendor_was_provisioned_first(approval_db):
    directory = LocalDirectory()
    assert vendor(directory, "v-jane.tan").username == "v-jane.tan"
    assert officer(directory, "jane.tan@tech.gov.sg").username == "jane.tan"
    # an address that starts as vendors' usernames do gives the officer a dotted name
    assert officer(directory, "v-jane.tan@tech.gov.sg").username == "v.jane.tan"


def test_suffixing_goes_past_the_first_batch_of_candidates(approval_db):
    directory = LocalDirectory()
    names = {officer(directory, "ann@tech.gov.sg").username for _ in range(25)}
    assert len(names) == 25
    assert {"ann", "ann2", "ann20", "ann21", "ann25"} <= names


def test_a_suffixed_username_still_fits_the_length_limit(approval_db):
    directory = LocalDirectory()
    email = "a" * 64 + "@tech.gov.sg"
    assert officer(directory, email).username == "a" * 64
    assert officer(directory, email).username == "a" * 63 + "2"


def test_a_suffix_never_follows_punctuation_left_by_cutting(approval_db):
    directory = LocalDirectory()
    email = "a" * 62 + ".bc@tech.gov.sg"
    assert officer(directory, email).username == "a" * 62 + ".b"
    second = officer(directory, email).username
    assert second == "a" * 62 + "2"
    assert is_valid_username(second)


def test_a_vendor_keeps_the_username_asked_for(approval_db):
    assert vendor(LocalDirectory(), "Sam_Lee").username == "Sam_Lee"


def test_a_vendor_username_taken_in_another_case_is_refused(approval_db):
    directory = LocalDirectory()
    vendor(directory, "Sam_Lee")
    with pytest.raises(UsernameTaken):
        vendor(directory, "sam_lee")


def test_a_vendor_cannot_take_a_derived_officer_username(approval_db):
    directory = LocalDirectory()
    officer(directory, "jane.tan@tech.gov.sg")
    with pytest.raises(UsernameTaken):
        vendor(directory, "JANE.TAN")


def test_a_vendor_without_a_username_is_refused(approval_db):
    with pytest.raises(InvalidUsername):
        LocalDirectory().create_account(str(uuid.uuid4()), None, "sam@vendor.example", "Sam", "Lee", "vendor")


def test_a_username_breaking_the_rules_is_refused_and_nothing_is_stored(approval_db):
    with pytest.raises(InvalidUsername):
        vendor(LocalDirectory(), "sam..lee")
    assert Account.select().count() == 0


def test_creating_twice_for_one_request_returns_the_same_account(approval_db):
    directory = LocalDirectory()
    request_id = str(uuid.uuid4())
    first = officer(directory, "jane.tan@tech.gov.sg", request_id)
    again = officer(directory, "jane.tan@tech.gov.sg", request_id)
    assert again == first
    assert Account.select().count() == 1


def test_a_repeated_vendor_request_is_not_refused_for_its_own_username(approval_db):
    directory = LocalDirectory()
    request_id = str(uuid.uuid4())
    assert vendor(directory, "Sam_Lee", request_id) == vendor(directory, "Sam_Lee", request_id)


def test_a_refused_username_leaves_the_callers_transaction_usable(approval_db):
    directory = LocalDirectory()
    vendor(directory, "Sam_Lee")
    with approval_db.atomic():
        with pytest.raises(UsernameTaken):
            vendor(directory, "SAM_LEE")
        assert vendor(directory, "Sam_Lee_2").username == "Sam_Lee_2"
    assert Account.select().count() == 2


def test_the_account_row_keeps_the_invitees_details(approval_db):
    request_id = str(uuid.uuid4())
    account = officer(LocalDirectory(), "jane.tan@tech.gov.sg", request_id)
    row = Account.get(Account.request_id == request_id)
    assert (row.username_key, row.email, row.first_name, row.last_name, row.user_type) == (
        "jane.tan", "jane.tan@tech.gov.sg", "Jane", "Tan", "public_officer")
    assert str(row.account_id) == account.account_id
    assert row.created_at == account.created_at


def test_concurrent_sign_ups_for_one_name_all_get_distinct_usernames(approval_db):
    directory = LocalDirectory()
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def sign_up():
        try:
            start.wait()
            results.append(officer(directory, "jane.tan@tech.gov.sg").username)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            approval_db.close()

    threads = [threading.Thread(target=sign_up) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == sorted(["jane.tan"] + [f"jane.tan{n}" for n in range(2, 7)])


def test_an_account_is_found_by_its_email_whatever_the_case(approval_db):
    directory = LocalDirectory()
    made = officer(directory, "Jane.Tan@tech.gov.sg", request_id="r-jane")
    found = directory.find_by_email("jane.tan@TECH.gov.sg")
    assert found is not None and found.username == made.username and found.request_id == "r-jane"
    assert directory.find_by_email("ken@tech.gov.sg") is None
