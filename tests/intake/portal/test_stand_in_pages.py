"""The stand-in page and what a stand-in sees: naming one with a day and a time in Singapore time, the
refusals beside their fields, ending one, and the request page saying whom the stand-in decides for."""
import datetime as dt
import json

import pytest

from intake.models import Delegation
from tests.support.callers import as_user, signed_in
from tests.support.portal_html import banner, field_error, summary_links, text
from tests.intake.test_stand_ins_api import submitted

DAVE = "dave@tech.gov.sg"
SGT = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def bob_standing_down(portal_app):
    """The approver bob@tech.gov.sg in the portal, about to be away."""
    return signed_in(portal_app.test_client(), "bob@tech.gov.sg")


@pytest.fixture
def dave_session(portal_app):
    return signed_in(portal_app.test_client(), DAVE)


def days_ahead(days: int) -> str:
    return (dt.datetime.now(SGT) + dt.timedelta(days=days)).date().isoformat()


def form(**changes) -> dict:
    return {"stand_in": DAVE, "starts_on": days_ahead(0), "starts_time": "00:00", "ends_on": days_ahead(3),
            "ends_time": "18:30"} | changes


def test_the_queue_links_to_the_stand_in_page_which_starts_empty(bob_standing_down):
    queue = bob_standing_down.get("/approvals").text
    assert 'href="/approvals/stand-in"' in queue
    page = bob_standing_down.get("/approvals/stand-in")
    assert page.status_code == 200
    assert "You have no stand-in named." in text(page.text)
    assert "Requests to approve" in text(page.text)  # the approvers' area stays marked in the navigation


def test_an_approver_names_a_stand_in_read_in_singapore_time(bob_standing_down):
    response = bob_standing_down.post("/approvals/stand-in", data=form())
    assert response.status_code == 302
    page = bob_standing_down.get("/approvals/stand-in").text
    assert f"{DAVE} stands in for you" in banner(page)
    [delegation] = Delegation.select()
    ends = dt.datetime.combine(dt.date.fromisoformat(days_ahead(3)), dt.time(18, 30), SGT)
    assert delegation.ends_at == ends.astimezone(dt.timezone.utc)
    assert DAVE in text(page) and "Standing in now" in text(page) and "End now" in text(page)


@pytest.mark.parametrize("changes, field, words", [
    ({"stand_in": ""}, "stand_in", "Enter the email address of your stand-in."),
    ({"stand_in": "bob@tech.gov.sg"}, "stand_in", "Name someone other than yourself."),
    ({"stand_in": "dave@vendor.com"}, "stand_in", "A stand-in must be a public officer"),
    ({"ends_on": ""}, "ends_on", "Enter the day your stand-in's duty should end."),
    ({"ends_on": "2027-02-30"}, "ends_on", "Enter the end day as a real date"),
    ({"starts_time": "25:00"}, "starts_on", "Enter the start time as hours and minutes"),
    ({"ends_on": days_ahead(-1)}, "ends_on", "The end"),
    ({"ends_on": days_ahead(100)}, "ends_on", "at most 90 days"),
])
def test_a_stand_in_the_rules_refuse_is_shown_beside_its_field(bob_standing_down, changes, field, words):
    response = bob_standing_down.post("/approvals/stand-in", data=form(**changes))
    assert response.status_code == 422
    assert words in field_error(response.text, field)
    assert any(href == f"#{field}" for href, _ in summary_links(response.text))
    assert Delegation.select().count() == 0


def test_an_overlapping_stand_in_is_refused_on_the_page(bob_standing_down):
    bob_standing_down.post("/approvals/stand-in", data=form())
    response = bob_standing_down.post("/approvals/stand-in", data=form(stand_in="erin@tech.gov.sg"))
    assert response.status_code == 409
    assert "already have a stand-in, dave@tech.gov.sg" in field_error(response.text, "starts_on")


def test_end_now_ends_the_stand_in(bob_standing_down, dave_session):
    bob_standing_down.post("/approvals/stand-in", data=form(), follow_redirects=True)
    [delegation] = Delegation.select()
    response = bob_standing_down.post(f"/approvals/stand-in/{delegation.id}/end")
    assert response.status_code == 302
    page = bob_standing_down.get("/approvals/stand-in").text
    assert "no longer stands in for you" in banner(page) and "You have no stand-in named." in text(page)
    assert dave_session.get("/approvals").status_code == 403
    again = bob_standing_down.post(f"/approvals/stand-in/{delegation.id}/end")
    assert "already ended" in banner(bob_standing_down.get(again.headers["Location"]).text)


def test_a_stand_in_is_told_whom_they_decide_for_and_decides_for_them(bob_standing_down, dave_session, client, outbox):
    invite = submitted(as_user(client, "amy@tech.gov.sg"))
    bob_standing_down.post("/approvals/stand-in", data=form())
    mine = text(dave_session.get("/approvals/stand-in").text)
    assert "You stand in for bob@tech.gov.sg until" in mine
    page = text(dave_session.get(f"/approvals/{invite}").text)
    assert "You decide this for bob@tech.gov.sg, who named you as stand-in until" in page
    assert dave_session.post(f"/approvals/{invite}/approve", data={"comment": ""}).status_code == 302
    [message] = [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "approval.decide"]
    assert (message["actor"], message["on_behalf_of"]) == (DAVE, "bob@tech.gov.sg")


def test_an_approver_deciding_for_themselves_is_not_told_of_a_stand_in(bob_standing_down, client):
    invite = submitted(as_user(client, "amy@tech.gov.sg"))
    assert "named you as stand-in" not in bob_standing_down.get(f"/approvals/{invite}").text


def test_a_stand_in_without_a_role_of_their_own_is_offered_no_stand_in_to_name(bob_standing_down, dave_session):
    bob_standing_down.post("/approvals/stand-in", data=form())
    page = text(dave_session.get("/approvals/stand-in").text)
    assert "You stand in for bob@tech.gov.sg" in page and "cannot name a stand-in of your own" in page
    assert "Name stand-in" not in page
    refused = dave_session.post("/approvals/stand-in", data=form(stand_in="erin@tech.gov.sg"))
    assert "Only someone who decides requests can name a stand-in." in banner(dave_session.get(refused.headers["Location"]).text)
