"""TechPass username rules and the username a public officer is given; no database involved."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from approval.usernames import derive_username, is_valid_username, numbered
from intake.validation.rules import vendor_username_problem


@pytest.mark.parametrize("email,expected", [
    ("jane.tan@tech.gov.sg", "jane.tan"),
    ("Jane.Tan@Tech.Gov.SG", "jane.tan"),
    ("jane+portal@tech.gov.sg", "janeportal"),
    ("_jane.tan_@tech.gov.sg", "jane.tan"),
    ("jane..tan@tech.gov.sg", "jane.tan"),
    (".-jane-.@tech.gov.sg", "jane"),
    ("josé.lim@tech.gov.sg", "jose.lim"),
    ("o'brien@tech.gov.sg", "obrien"),
    ("x" * 80 + "@tech.gov.sg", "x" * 64),
])
def test_a_username_is_derived_from_the_email_local_part(email, expected):
    derived = derive_username(email)
    assert derived == expected
    assert is_valid_username(derived)


def test_a_local_part_too_short_falls_back_to_the_names():
    assert derive_username("jt@tech.gov.sg", "Jane", "Tan") == "jane.tan"
    assert derive_username("jt@tech.gov.sg", "Mary Ann", "Tan") == "mary.ann.tan"


def test_with_nothing_usable_the_username_is_user():
    assert derive_username("李@tech.gov.sg", "李", "明") == "user"


@pytest.mark.parametrize("username", ["abc", "Sam_Lee", "sam lee", "sam-lee.2", "a.b.c", "A" * 64])
def test_names_following_the_techpass_rules_are_valid(username):
    assert is_valid_username(username)


@pytest.mark.parametrize("username", [
    "ab", "A" * 65, ".sam", "sam.", "_sam", "sam-", " sam", "sam..lee", "sam+lee", "sam@lee", "",
])
def test_names_breaking_the_techpass_rules_are_invalid(username):
    assert not is_valid_username(username)


def test_numbering_starts_at_two_after_the_bare_name():
    names = numbered("jane.tan")
    assert [next(names) for _ in range(3)] == ["jane.tan", "jane.tan2", "jane.tan3"]


# what an address's local part and a person's names may hold: letters of any script, digits, and the
# punctuation sanitising has to deal with (v- and V- among them)
_TEXT = st.text(st.sampled_from("abcvVjJ-_. +'é李0129"), max_size=12)


@given(local=_TEXT, first=_TEXT, last=_TEXT)
def test_no_officer_is_ever_given_a_username_intake_accepts_for_a_vendor(local, first, last):
    # intake refuses a vendor's username an officer could be given, so a vendor can never take it first
    derived = derive_username(f"{local}@tech.gov.sg", first, last)
    names = numbered(derived)
    for name in [next(names) for _ in range(3)]:
        assert vendor_username_problem(name) is not None, name


@pytest.mark.parametrize("email,expected", [
    ("v-jane@tech.gov.sg", "v.jane"), ("V-Jane.Tan@tech.gov.sg", "v.jane.tan"), ("v-.jane@tech.gov.sg", "v.jane"),
    ("v--jane@tech.gov.sg", "v.-jane"), ("vjane@tech.gov.sg", "vjane"), ("v_jane@tech.gov.sg", "v_jane"),
])
def test_an_address_starting_as_vendors_usernames_do_gives_the_officer_a_dotted_name(email, expected):
    assert derive_username(email) == expected
    assert is_valid_username(expected)
