"""TechPass username rules and the username a public officer is given; no database involved."""
from __future__ import annotations

import pytest

from approval.usernames import derive_username, is_valid_username, numbered


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
