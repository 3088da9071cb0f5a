"""Reassignment in the portal: an administrator who decides nothing lists the waiting requests, opens one
read-only with the reassignment form, and gives it to a named person; auditors read stand-ins on their page."""
import pytest

from intake.db import database
from intake.models import RoleGrant
from tests.support.callers import as_user, signed_in
from tests.support.portal_html import banner, field_error, text
from tests.intake.test_stand_ins_api import a_week, submitted

ERIN = "erin@tech.gov.sg"


@pytest.fixture
def ada_session(portal_app):
    """The administrator ada@tech.gov.sg, holding no deciding role, signed in to the portal."""
    with database.atomic():
        RoleGrant.create(role="admin", email="ada@tech.gov.sg")
    return signed_in(portal_app.test_client(), "ada@tech.gov.sg")


@pytest.fixture
def waiting_request(client):
    return submitted(as_user(client, "amy@tech.gov.sg"))


def test_an_administrator_reassigns_a_waiting_request_from_its_page(ada_session, waiting_request, client):
    listing = ada_session.get("/admin/requests")
    assert listing.status_code == 200
    assert f'href="/admin/requests/{waiting_request}"' in listing.text and "Any of the approvers" in text(listing.text)
    page = ada_session.get(f"/admin/requests/{waiting_request}")
    assert page.status_code == 200 and "Reassign this request" in text(page.text)
    assert "Approve" not in text(page.text)  # read-only apart from the reassignment
    response = ada_session.post(f"/admin/requests/{waiting_request}/reassignment", data={"to": ERIN, "reason": "Team away"})
    assert response.status_code == 302
    page = ada_session.get(response.headers["Location"]).text
    assert f"{ERIN} now decides this request" in banner(page)
    assert "Team away" in text(page)
    assert [i["id"] for i in as_user(client, ERIN)("GET", "/api/v1/approvals").get_json()["items"]] == [waiting_request]
    assert as_user(client, "bob@tech.gov.sg")("GET", "/api/v1/approvals").get_json()["items"] == []


@pytest.mark.parametrize("form, field, words", [
    ({"to": "amy@tech.gov.sg", "reason": "x"}, "to", "This person made the request."),
    ({"to": "", "reason": "x"}, "to", "Enter the email address of the person who should decide this request."),
    ({"to": ERIN, "reason": ""}, "reason", "Enter the reason for reassigning."),
])
def test_a_reassignment_refused_is_shown_beside_its_field(ada_session, waiting_request, form, field, words):
    response = ada_session.post(f"/admin/requests/{waiting_request}/reassignment", data=form)
    assert response.status_code == 422
    assert words in field_error(response.text, field)


def test_an_administrator_opens_no_approvers_page_and_approvers_open_no_reassignment(ada_session, portal_app, waiting_request):
    assert ada_session.get(f"/approvals/{waiting_request}").status_code == 403
    bob = signed_in(portal_app.test_client(), "bob@tech.gov.sg")
    assert bob.get(f"/admin/requests/{waiting_request}").status_code == 403
    assert bob.post(f"/admin/requests/{waiting_request}/reassignment", data={"to": ERIN, "reason": "x"}).status_code == 403


def test_a_request_made_by_the_administrator_offers_no_reassignment(ada_session, client):
    own = submitted(as_user(client, "ada@tech.gov.sg"))
    page = text(ada_session.get(f"/admin/requests/{own}").text)
    assert "Reassign this request" not in page and "another administrator reassigns it" in page


def test_auditors_read_stand_ins_on_their_page(portal_app, client):
    as_user(client, "bob@tech.gov.sg")("POST", "/api/v1/delegations", json=a_week())
    carol = signed_in(portal_app.test_client(), "carol@tech.gov.sg")
    page = carol.get("/audit/stand-ins")
    assert page.status_code == 200
    words = text(page.text)
    assert "dave@tech.gov.sg" in words and "bob@tech.gov.sg" in words and "Named" in words
    assert "No stand-in about this person" in text(carol.get("/audit/stand-ins?person=erin@tech.gov.sg").text)
    assert 'href="/audit/stand-ins"' in carol.get("/audit").text


def test_an_administrator_who_also_approves_finds_the_reassignment_from_the_request_page(portal_app, waiting_request):
    with database.atomic():
        RoleGrant.create(role="admin", email="bob@tech.gov.sg")
    bob = signed_in(portal_app.test_client(), "bob@tech.gov.sg")
    assert f'href="/admin/requests/{waiting_request}"' in bob.get(f"/approvals/{waiting_request}").text
    dana = signed_in(portal_app.test_client(), "dana@tech.gov.sg")
    assert "/admin/requests/" not in dana.get(f"/approvals/{waiting_request}").text


def test_a_persons_activity_names_the_stand_ins_about_them(portal_app, client):
    as_user(client, "bob@tech.gov.sg")("POST", "/api/v1/delegations", json=a_week())
    carol = signed_in(portal_app.test_client(), "carol@tech.gov.sg")
    dave = text(carol.get("/audit/people?person=dave@tech.gov.sg").text)
    assert "Stand-in" in dave and "dave@tech.gov.sg standing in for bob@tech.gov.sg" in dave
    assert "Approver" in text(carol.get("/audit/people?person=bob@tech.gov.sg").text)


def test_an_administrator_finds_one_waiting_request_by_part_of_an_address(ada_session, waiting_request, client):
    other = submitted(as_user(client, "ken@tech.gov.sg"), "lim@tech.gov.sg")
    found = ada_session.get("/admin/requests", query_string={"q": "  JANE "}).text
    assert f"/admin/requests/{waiting_request}" in found and f"/admin/requests/{other}" not in found
    by_requester = ada_session.get("/admin/requests", query_string={"q": "ken@"}).text
    assert f"/admin/requests/{other}" in by_requester and f"/admin/requests/{waiting_request}" not in by_requester
    none = text(ada_session.get("/admin/requests", query_string={"q": "50%_off"}).text)
    assert "No waiting request has an invitee or requester whose address contains “50%_off”" in none
