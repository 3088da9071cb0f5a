"""Who an address belongs to, as every service answers it: person keys and public officers."""
import pytest

from invite_common.people import in_domains, is_public_officer, parse_domains, person_key, same_person


@pytest.mark.parametrize("address, key", [
    ("amy@tech.gov.sg", "amy@tech.gov.sg"),
    ("Amy+Second@TECH.gov.sg", "amy@tech.gov.sg"),
    ("amy+a+b@tech.gov.sg", "amy@tech.gov.sg"),
    ("amy+@tech.gov.sg", "amy@tech.gov.sg"),
    ("a.my+x@tech.gov.sg", "a.my@tech.gov.sg"),  # no dot folding: a.my and amy may be two people
    ("+x@tech.gov.sg", "+x@tech.gov.sg"),  # all tag: nothing to take off
    ("jo@b\u00fccher.example", "jo@xn--bcher-kva.example"),
    (" jo+1@Example.COM ", "jo@example.com"),
])
def test_a_person_key_is_lower_case_with_an_idna_domain_and_no_tag(address, key):
    assert person_key(address) == key


def test_tagged_addresses_of_one_mailbox_are_one_person_and_dots_are_not_folded():
    assert same_person("bob+x@tech.gov.sg", "BOB@tech.gov.sg")
    assert same_person("bob+x@tech.gov.sg", "bob+y@tech.gov.sg")
    assert not same_person("b.ob@tech.gov.sg", "bob@tech.gov.sg")
    assert not same_person("bob@tech.gov.sg", "bob@hive.gov.sg")


@pytest.mark.parametrize("address, officer", [
    ("x@gov.sg", True), ("x@tech.gov.sg", True), ("X@Tech.GOV.sg", True),
    ("x@evilgov.sg", False), ("x@gov.sg.evil.com", False), ("x@vendor.example.com", False), ("gov.sg", False),
])
def test_a_public_officer_has_an_address_in_the_organisations_domains(address, officer):
    assert is_public_officer(address, parse_domains(" gov.sg, ,GOV.SG ")) is officer


def test_the_organisations_domains_are_read_as_idna_without_repeats():
    assert parse_domains("gov.sg, b\u00fccher.example,GOV.SG.") == ("gov.sg", "xn--bcher-kva.example")
    assert in_domains("sub.xn--bcher-kva.example", ("xn--bcher-kva.example",))
