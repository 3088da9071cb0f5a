"""The auditors' page of everything one person did: found by email, their roles now, each event in
time order with the capacity they acted in and a link to its request or role change; auditors only."""
import re

import pytest

from tests.intake.audit.test_person_activity import activity  # noqa: F401  (fixture)
from tests.support.callers import signed_in
from tests.support.portal_html import field_error, text


def rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [text(r) for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.mark.both_databases("the person's events counted and paged by offset in time order")
def test_a_persons_page_lists_their_events_in_time_order_with_their_capacity(carol, activity):
    response = carol.get("/audit/people?person=BOB@tech.gov.sg")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Roles now: Administrator, Approver." in text(page)
    shown = rows(page)
    assert len(shown) == 4
    # oldest first: the approval (01:03) before bob's own request (01:05) and the role changes (01:06, 01:07)
    assert [r.split(" SGT ")[1].split(" (")[0] for r in shown] == [
        "Approved by bob@tech.gov.sg Approver Request for jane.tan@tech.gov.sg",
        "Request submitted by bob@tech.gov.sg Requester Request for lee@tech.gov.sg",
        "Role granted by admin@tech.gov.sg Role holder Administrator for bob@tech.gov.sg",
        "Role granted by bob@tech.gov.sg Administrator Auditor for quinn@tech.gov.sg",
    ]
    assert f'href="/audit/requests/{activity["jane"]}"' in page and f'href="/audit/requests/{activity["lee"]}"' in page
    assert 'href="/audit/roles/' in page
    assert "kumar@agency.gov.sg" not in page and "dana@tech.gov.sg" not in page


def test_the_person_page_is_paged_like_the_other_audit_lists(carol, activity, monkeypatch):
    monkeypatch.setattr("intake.portal.audit.PER_PAGE", 3)
    first = carol.get("/audit/people?person=bob@tech.gov.sg").get_data(as_text=True)
    second = carol.get("/audit/people?person=bob@tech.gov.sg&page=2").get_data(as_text=True)
    assert len(rows(first)) == 3 and len(rows(second)) == 1
    assert "Showing 4 to 4 of 4 events" in text(second)
    assert 'page=2&amp;person=bob@tech.gov.sg"' in first and "person=bob@tech.gov.sg" in first


def test_a_person_who_is_no_email_address_is_named_beside_the_field(carol, activity):
    response = carol.get("/audit/people?person=bob")
    assert response.status_code == 422
    assert "email address" in field_error(response.get_data(as_text=True), "filter-person")


def test_without_a_person_the_page_shows_only_the_search(carol, activity):
    response = carol.get("/audit/people")
    assert response.status_code == 200 and "<table" not in response.get_data(as_text=True)


def test_the_audit_search_and_a_timeline_lead_to_a_persons_page(carol, activity):
    assert 'href="/audit/people"' in carol.get("/audit").get_data(as_text=True)
    timeline = carol.get(f"/audit/requests/{activity['jane']}").get_data(as_text=True)
    assert 'href="/audit/people?person=amy@tech.gov.sg"' in timeline     # the requester
    assert 'href="/audit/people?person=bob@tech.gov.sg"' in timeline     # the approver


@pytest.mark.parametrize("who", ["amy@tech.gov.sg", "bob@tech.gov.sg"])
def test_only_auditors_see_what_a_person_did(app, activity, who):
    app.config["WTF_CSRF_ENABLED"] = False
    assert signed_in(app.test_client(), who).get("/audit/people?person=bob@tech.gov.sg").status_code in (302, 403)
