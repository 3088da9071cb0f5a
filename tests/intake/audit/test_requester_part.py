"""The auditor's requester filter matches part of an address, in any case, on the Audit history page
and in the API's events, as the invitee filter does; the hints under both say so."""
import pytest

from intake.audit import queries
from intake.audit.filters import Filters
from tests.intake.audit.test_audit_pages import submit
from tests.support.callers import as_user
from tests.support.portal_html import text

pytestmark = pytest.mark.both_databases("the filter is a LIKE the database runs, with % and _ escaped")


def found(carol, value):
    page = carol.get("/audit", query_string={"requester": value})
    assert page.status_code == 200, page.text
    return {e for e in ("amys0@tech.gov.sg", "amelias0@tech.gov.sg") if e in page.text}


def test_the_audit_requester_filter_matches_part_of_an_address_in_any_case(client, carol):
    submit(client, "amys", requester="amy@tech.gov.sg")
    submit(client, "amelias", requester="amelia_100@agency.gov.sg")
    assert found(carol, "amy") == {"amys0@tech.gov.sg"}
    assert found(carol, "AM") == {"amys0@tech.gov.sg", "amelias0@tech.gov.sg"}
    assert found(carol, "@agency.gov.sg") == {"amelias0@tech.gov.sg"}
    assert found(carol, "amy@tech.gov.sg") == {"amys0@tech.gov.sg"}
    # % and _ are the letters typed, not wildcards
    assert found(carol, "%") == set() and found(carol, "a_y") == set() and found(carol, "a_1") == {"amelias0@tech.gov.sg"}
    events = as_user(client, "carol@tech.gov.sg")("GET", "/api/v1/audit/events", query_string={"requester": "amy"})
    assert {e["invitee_email"] for e in events.get_json()["items"]} == {"amys0@tech.gov.sg"}


def test_the_hints_under_the_audit_filters_say_what_each_matches(carol):
    page = carol.get("/audit").get_data(as_text=True)
    assert 'id="filter-requester-hint">Part of an address, such as amy or @tech.gov.sg' in page
    assert 'id="filter-email-hint">Part of an address, such as amy or @vendor.com' in page
    assert 'id="filter-approver-hint">The whole address' in page
    assert 'aria-describedby="filter-requester-hint"' in page and "Requester email contains" in text(page)


def test_a_requester_domain_alone_is_searched_by_walking_time_not_request_first():
    # a domain matches most requests: gathering them all first would sort every entry of theirs
    assert queries._narrow(Filters(requester="amy"))
    assert not queries._narrow(Filters(requester="@tech.gov.sg"))
    assert queries._narrow(Filters(requester="@tech.gov.sg", batch="b"))
