"""The approver's pages through Flask's test client: the queue, its filters and pages, the request page,
single and bulk decisions, and no controls (nor forged posts) on one's own request or invitation."""
import json

import pytest

from intake.models import InviteRequest
from intake.portal.forms import PLAIN_WORDS, worded
from tests.support.callers import as_user, signed_in
from tests.support.portal_html import field_error, text
from tests.intake.test_approver_rules import emailed

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}


@pytest.fixture
def bob_session(portal_app):
    return signed_in(portal_app.test_client(), "bob@tech.gov.sg")


def submit(amy, email, **changes):
    response = amy("POST", "/api/v1/invites", json=OFFICER | {"email": email} | changes)
    assert response.status_code == 201, response.text
    return response.get_json()["id"]


def decisions(outbox):
    return [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "approval.decide"]


def test_requesters_who_are_not_approvers_get_no_queue(amy_session):
    assert amy_session.get("/approvals").status_code == 403
    assert "Requests to approve" not in amy_session.get("/").text


def test_the_header_names_the_roles_and_the_nav_counts_what_waits(bob_session, amy):
    submit(amy, "p1@tech.gov.sg")
    page = text(bob_session.get("/").text)
    assert "Signed in as bob@tech.gov.sg , roles: Requester, Approver" in page or "Requester, Approver" in page
    assert "Requests to approve (1)" in page


def test_the_queue_lists_oldest_first_with_expiry_and_filters(bob_session, amy, client):
    submit(amy, "first@tech.gov.sg", reason="Needs the build servers for the release")
    submit(amy, "second@tech.gov.sg", seed_onboarding=True)
    page = bob_session.get("/approvals").text
    assert page.index("first@tech.gov.sg") < page.index("second@tech.gov.sg")
    assert "2 requests wait for a decision" in text(page) and "Expires on" in page
    assert "Needs the build servers" in page
    filtered = bob_session.get("/approvals", query_string={"seed": "yes"}).text
    assert "second@tech.gov.sg" in filtered and "first@tech.gov.sg" not in filtered
    assert "Showing 1 to 1 of 1 matching request" in text(filtered)


def test_a_queue_filter_the_apis_schema_refuses_is_named_beside_its_field_and_left_out(bob_session, amy, client):
    submit(amy, "first@tech.gov.sg")
    submit(amy, "second@tech.gov.sg", seed_onboarding=True)
    answer = bob_session.get("/approvals", query_string={"older_than": "a week", "requester": "a" * 255, "method": "fax",
                                                 "seed": "yes"})
    assert answer.status_code == 422
    assert field_error(answer.text, "filter-older_than") == "Error: Enter a whole number of days, such as 7."
    assert field_error(answer.text, "filter-requester") == "Error: This is longer than anything it could match; shorten it."
    assert field_error(answer.text, "filter-method") == "Error: Choose one of the options in the list."
    # the queue still shows, narrowed by the filters that are right
    assert "second@tech.gov.sg" in answer.text and "first@tech.gov.sg" not in answer.text
    assert 'value="a week"' in answer.text
    # the page and the API hold a filter to one rule: what one refuses, the other does
    by_api = as_user(client, "bob@tech.gov.sg")("GET", "/api/v1/approvals", query_string={"older_than_days": 3651})
    assert by_api.status_code == 422 and by_api.get_json()["errors"] == {
        "older_than_days": ["Must be greater than or equal to 0 and less than or equal to 3650."]}
    by_page = bob_session.get("/approvals", query_string={"older_than": 3651})
    assert by_page.status_code == 422
    assert field_error(by_page.text, "filter-older_than") == "Error: Enter a number of days from 0 to 3650."
    assert bob_session.get("/approvals", query_string={"older_than": 0, "requester": "AMY@tech.gov.sg"}).status_code == 200


def test_the_queue_has_numbered_pages_of_25(bob_session, amy):
    for n in range(27):
        submit(amy, f"q{n:02d}@tech.gov.sg")
    first = bob_session.get("/approvals").text
    assert "q24@tech.gov.sg" in first and "q25@tech.gov.sg" not in first
    assert 'aria-current="page"' in first and "Page 2" in text(first)
    second = bob_session.get("/approvals", query_string={"page": 2}).text
    assert "q25@tech.gov.sg" in second and "q26@tech.gov.sg" in second


def test_approving_from_the_request_page_shows_the_outcome(bob_session, amy, outbox):
    invite_id = submit(amy, "jane@tech.gov.sg")
    page = bob_session.get(f"/approvals/{invite_id}").text
    assert "Your decision" in page and "Expires on" in page and "Earlier requests for jane@tech.gov.sg" in page
    after = bob_session.post(f"/approvals/{invite_id}/approve", data={"comment": "Welcome"}, follow_redirects=True)
    assert "You approved the request for jane@tech.gov.sg" in after.text
    assert "Your decision" not in after.text and "The decision is being processed" in after.text
    assert decisions(outbox) == [{"request_id": invite_id, "decision": "approve", "actor": "bob@tech.gov.sg", "comment": "Welcome", "level": "approval"}]


def test_rejecting_needs_a_reason(bob_session, amy, outbox):
    invite_id = submit(amy, "jane@tech.gov.sg")
    response = bob_session.post(f"/approvals/{invite_id}/reject", data={"reason": "  "})
    assert response.status_code == 422
    assert field_error(response.text, "reason") == "Error: Give the reason for rejecting: the requester reads it."
    assert decisions(outbox) == []
    done = bob_session.post(f"/approvals/{invite_id}/reject", data={"reason": "Not needed"}, follow_redirects=True)
    assert "You rejected the request for jane@tech.gov.sg" in done.text


def test_no_controls_on_ones_own_request_or_invitation_and_forged_posts_are_refused(bob_session, portal_app, amy, outbox):
    own = submit(as_user(portal_app.test_client(), "bob@tech.gov.sg"), "ken@tech.gov.sg")
    invites_bob = submit(amy, "bob@tech.gov.sg")
    for invite_id, why in ((own, "You made this request"), (invites_bob, "This request invites you")):
        page = bob_session.get(f"/approvals/{invite_id}").text
        assert why in page and "Your decision" not in page and ">Approve<" not in page
        forged = bob_session.post(f"/approvals/{invite_id}/approve", data={}, follow_redirects=True)
        assert "Nothing was decided" in forged.text
    assert decisions(outbox) == []
    queue = bob_session.get("/approvals").text
    assert "ken@tech.gov.sg" not in queue and "bob@tech.gov.sg</a>" not in queue


def test_an_approver_opening_someone_elses_status_page_lands_on_the_request_page(bob_session, amy):
    invite_id = submit(amy, "jane@tech.gov.sg")
    response = bob_session.get(f"/status/{invite_id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/approvals/{invite_id}")


def test_a_requester_still_sees_only_their_own(zed_session, amy):
    invite_id = submit(amy, "jane@tech.gov.sg")
    assert zed_session.get(f"/status/{invite_id}").status_code == 404
    assert zed_session.get(f"/approvals/{invite_id}").status_code == 403


def test_the_request_page_warns_about_a_vendor_with_an_officer_address_and_an_existing_account(bob_session, amy):
    earlier = submit(amy, "held@tech.gov.sg")
    emailed(earlier)
    vendor = {"method": "create_account", "email": "vic@tech.gov.sg", "user_type": "vendor", "username": "v-vic.lim",
              "first_name": "Vic", "last_name": "Lim", "contact_number": "91234567", "organisation": "Example",
              "seed_onboarding": False, "reason": "Contractor"}
    invite_id = amy("POST", "/api/v1/invites", json=vendor).get_json()["id"]
    page = text(bob_session.get(f"/approvals/{invite_id}").text)
    assert "A vendor with a public-officer address" in page
    assert "Contact number +65 9123 4567" in page  # written as the requester's page writes it
    # an account made elsewhere is found by history: the page of the earlier request's invitee
    with_account = InviteRequest.create(**{**InviteRequest.get_by_id(earlier).__data__, "id": "again-1", "state": "submitted",
                                           "open_email": None, "requester": "zed@tech.gov.sg"})
    page = text(bob_session.get(f"/approvals/{with_account.id}").text)
    assert "This person already has an account" in page and "Invitation sent" in page


def test_bulk_decisions_report_each_row(bob_session, amy, client, outbox):
    ids = [submit(amy, f"b{n}@tech.gov.sg") for n in range(3)]
    as_user(client, "dana@tech.gov.sg")("POST", f"/api/v1/invites/{ids[1]}/approve", json={})
    response = bob_session.post("/approvals/decide", data={"ids": ids, "decision": "approve", "note": "Fine", "confirmed": "yes"})
    assert response.status_code == 200
    page = text(response.text)
    # the one another approver took in the meantime is named, the others decided
    assert "2 of 3 selected requests were approved" in page
    assert ("b0@tech.gov.sg amy@tech.gov.sg Approved now b1@tech.gov.sg amy@tech.gov.sg Not decided: already approved by "
            "another approver b2@tech.gov.sg amy@tech.gov.sg Approved now") in page
    assert sorted(d["request_id"] for d in decisions(outbox) if d["actor"] == "bob@tech.gov.sg") == sorted([ids[0], ids[2]])


def test_bulk_all_on_this_page_and_a_rejection_needs_a_reason(bob_session, amy, outbox):
    ids = [submit(amy, f"c{n}@tech.gov.sg") for n in range(2)]
    refused = bob_session.post("/approvals/decide", data={"all_on_page": "yes", "page_ids": ids, "decision": "reject", "note": ""})
    assert refused.status_code == 422 and "Give the reason for rejecting" in refused.text
    nothing = bob_session.post("/approvals/decide", data={"decision": "approve"})
    assert nothing.status_code == 422 and "Select at least one request" in nothing.text
    done = bob_session.post("/approvals/decide", data={"all_on_page": "yes", "page_ids": ids, "decision": "reject",
                                                       "note": "Duplicate", "confirmed": "yes"})
    assert "2 of 2 selected requests were rejected" in text(done.text)
    assert {d["request_id"] for d in decisions(outbox)} == set(ids)


def test_the_requester_reads_on_the_overview_that_the_invitation_was_sent(amy_session, amy):
    invite_id = submit(amy, "jane@tech.gov.sg")
    assert "News about your requests" not in amy_session.get("/").text
    emailed(invite_id)
    page = text(amy_session.get("/").text)
    assert "News about your requests The invitation was sent to jane@tech.gov.sg" in page


def test_a_request_from_a_batch_links_to_the_batchs_other_waiting_requests(bob_session, amy):
    from tests.support.spreadsheets import OFFICER_ROW, csv_bytes, upload

    submit(amy, "alone@tech.gov.sg")
    rows = [OFFICER_ROW | {"email": f"row{n}@tech.gov.sg"} for n in range(3)]
    draft = upload(amy, csv_bytes(rows), "vendors-march.csv").get_json()
    assert amy("POST", f"/api/v1/batches/{draft['id']}/submit").status_code == 201
    first = InviteRequest.get(InviteRequest.email == "row0@tech.gov.sg")
    page = text(bob_session.get(f"/approvals/{first.id}").text)
    assert "From the batch upload “vendors-march.csv” (3 requests)" in page
    assert "See the 3 from this batch waiting for your decision" in page
    queue = bob_session.get("/approvals", query_string={"batch": draft["id"]}).text
    assert all(f"row{n}@tech.gov.sg" in queue for n in range(3)) and "alone@tech.gov.sg" not in queue
    assert "Batch upload “vendors-march.csv” by amy@tech.gov.sg" in text(queue)
    assert "3 of its requests wait for your decision" in text(queue)
    assert "Back to all requests to approve" in queue
    # the API's queue takes the same filter
    items = as_user(bob_session.application.test_client(), "bob@tech.gov.sg")("GET", "/api/v1/approvals",
                                                                       query_string={"batch": draft["id"]}).get_json()
    assert items["total"] == 3


def test_an_auditors_header_names_only_the_role_they_can_use(portal_app):
    # auditing is read-only: carol's requester role lapses while she audits, so the header does not offer it
    page = text(signed_in(portal_app.test_client(), "carol@tech.gov.sg").get("/audit").text)
    assert "roles: Auditor " in page and "roles: Requester" not in page


@pytest.mark.parametrize("number", ["\u00b2", "9" * 5000])
def test_a_queue_page_number_int_cannot_read_shows_a_page(bob_session, amy, number):
    submit(amy, "queued@tech.gov.sg")
    response = bob_session.get("/approvals", query_string={"page": number})
    assert response.status_code == 200 and "queued@tech.gov.sg" in response.text


# Text nobody types into a decision on purpose, and one character more than the API takes.
REFUSED_TEXTS = [
    pytest.param("Checked with the team\x07", "must not contain tabs or hidden characters.", id="control character"),
    pytest.param("Checked \u202emaet eht htiw", "must not contain tabs or hidden characters.", id="direction override"),
    pytest.param("x" * 1001, "must be 1000 characters or fewer.", id="1,001 characters"),
]
FIELDS = {"approve": ("comment", "Comment"), "reject": ("reason", "Reason")}


def not_decided(invite_id):
    return InviteRequest.get_by_id(invite_id).pending_action is None


@pytest.mark.parametrize("decision", ["approve", "reject"])
@pytest.mark.parametrize("text,problem", REFUSED_TEXTS)
def test_a_decision_whose_text_the_api_refuses_is_refused_beside_the_field_and_decides_nothing(
        bob_session, amy, outbox, decision, text, problem):
    invite_id = submit(amy, "jane@tech.gov.sg")
    field, label = FIELDS[decision]
    response = bob_session.post(f"/approvals/{invite_id}/{decision}", data={field: text})
    assert response.status_code == 422
    assert field_error(response.text, field) == f"Error: {label} {problem}"
    assert decisions(outbox) == [] and not_decided(invite_id)


@pytest.mark.parametrize("decision", ["approve", "reject"])
@pytest.mark.parametrize("text,problem", REFUSED_TEXTS)
def test_a_bulk_decision_whose_text_the_api_refuses_is_refused_beside_the_note_and_decides_nothing(
        bob_session, amy, outbox, decision, text, problem):
    ids = [submit(amy, f"d{n}@tech.gov.sg") for n in range(2)]
    response = bob_session.post("/approvals/decide", data={"ids": ids, "decision": decision, "note": text, "confirmed": "yes"})
    assert response.status_code == 422
    assert field_error(response.text, "note") == f"Error: {FIELDS[decision][1]} {problem}"
    assert decisions(outbox) == [] and all(not_decided(i) for i in ids)


# Kept, normalised or refused alike: what a text box sends, what scripts spell with, what hides.
TEXTS = [
    "Welcome aboard", "  Trimmed either side  ", "Two lines\r\nas a browser sends them", "Tamil: \u0b95\u0bcd\u200d",
    "x" * 1000, "   ", "x" * 1001, "Tab\tinside", "Bell\x07", "Right-to-left \u202eoverride", "Zero\u200bwidth space",
    "Line\u2028separator", "Byte order mark \ufeff",
]


@pytest.mark.parametrize("decision", ["approve", "reject"])
@pytest.mark.parametrize("text", TEXTS, ids=ascii)
def test_the_portal_and_the_api_give_the_same_verdict_on_the_same_text(bob_session, amy, portal_app, outbox, decision, text):
    field, _ = FIELDS[decision]
    by_api, by_portal = submit(amy, "by.api@tech.gov.sg"), submit(amy, "by.portal@tech.gov.sg")
    api_answer = as_user(portal_app.test_client(), "bob@tech.gov.sg")(
        "POST", f"/api/v1/invites/{by_api}/{decision}", json={field: text})
    page_answer = bob_session.post(f"/approvals/{by_portal}/{decision}", data={field: text})
    if api_answer.status_code == 202:
        assert page_answer.status_code == 302, field_error(page_answer.text, field)
        recorded = {d["request_id"]: d[field] for d in decisions(outbox)}
        assert recorded[by_portal] == recorded[by_api]
    else:
        assert (api_answer.status_code, page_answer.status_code) == (422, 422)
        message = api_answer.get_json()["errors"][field][0]
        assert field_error(page_answer.text, field) == "Error: " + worded(message, PLAIN_WORDS)
        assert decisions(outbox) == [] and not_decided(by_api) and not_decided(by_portal)
