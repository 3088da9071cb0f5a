"""The approver's quick path shows what the request page shows: warnings on the queue's rows, a bulk
decision confirmed on a page listing each selected request with its warnings, results and a form
shown again that say truly what became of each request, the request page in reading order, settling
by itself and leading to the next request; filters that match part of an address."""
import re

import pytest

from intake.models import InviteRequest
from tests.intake.portal.test_approval_pages import bob_session  # noqa: F401 (fixture)
from tests.intake.test_history import apply, changed
from tests.support.callers import as_user
from tests.support.portal_html import text

OFFICER = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}
VENDOR = {"method": "create_account", "email": "vic@tech.gov.sg", "user_type": "vendor", "username": "v-vic.lim",
          "first_name": "Vic", "last_name": "Lim", "contact_number": "91234567", "organisation": "Example",
          "seed_onboarding": False, "reason": "Contractor"}
OFFSHORE = VENDOR | {"email": "ola@acme.example.com", "username": "v-ola.acme", "offshore": True, "seed_onboarding": True}
OFFICER_ADDRESS = "A vendor with a public-officer address"
OFFSHORE_WARNING = "An offshore vendor"
SQL = "the queue's filters are SQL (LIKE, escaping) and the warnings read earlier requests in one query"
pytestmark = pytest.mark.both_databases(SQL)


def submit(amy, body):
    response = amy("POST", "/api/v1/invites", json=body)
    assert response.status_code == 201, response.text
    return response.get_json()["id"]


def decisions(outbox):
    import json
    return [json.loads(r.body)["payload"] for r in outbox.pending() if r.message_type == "approval.decide"]


def row_of(page: str, email: str) -> str:
    """The words of the queue's or a list's table row naming `email`."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    return next(text(r) for r in rows if email in r)


def rejected_before(amy, email):
    """A request for `email` that an approver rejected."""
    earlier = submit(amy, OFFICER | {"email": email})
    apply(changed(earlier, 1, "submitted", "rejected", "reject"))


def test_the_queue_rows_show_the_warnings_the_request_page_shows(bob_session, amy):
    vendor = submit(amy, VENDOR)
    offshore = submit(amy, OFFSHORE)
    rejected_before(amy, "again@tech.gov.sg")
    again = submit(amy, OFFICER | {"email": "again@tech.gov.sg"})
    plain = submit(amy, OFFICER | {"email": "plain@tech.gov.sg"})
    queue = bob_session.get("/approvals").text
    for invite_id in (vendor, offshore, again):
        detail = bob_session.get(f"/approvals/{invite_id}").text
        shown = re.search(r'<ul class="warnings__list">(.*?)</ul>', detail, re.S).group(1)
        warnings = [text(w) for w in re.findall(r"<li>(.*?)</li>", shown, re.S)]
        assert warnings, invite_id
        row = row_of(queue, InviteRequest.get_by_id(invite_id).email)
        assert "Check before deciding" in row and all(w in row for w in warnings), (warnings, row)
    assert OFFICER_ADDRESS in row_of(queue, "vic@tech.gov.sg")
    assert OFFSHORE_WARNING in row_of(queue, "ola@acme.example.com")
    assert "rejected 1 time before" in row_of(queue, "again@tech.gov.sg")
    assert "Check before deciding" not in row_of(queue, "plain@tech.gov.sg") and plain


def test_a_bulk_approval_first_shows_each_selected_request_with_its_warnings_and_decides_nothing(bob_session, amy, outbox):
    offshore = submit(amy, OFFSHORE)
    plain = submit(amy, OFFICER | {"email": "plain@tech.gov.sg"})
    page = bob_session.post("/approvals/decide", data={"ids": [offshore, plain], "decision": "approve", "note": "Fine"})
    assert page.status_code == 200
    words = text(page.text)
    assert "Approve 2 selected requests?" in words and "Nothing is decided until you confirm" in words
    assert OFFSHORE_WARNING in row_of(page.text, "ola@acme.example.com")
    assert "No warnings" in row_of(page.text, "plain@tech.gov.sg")
    assert "Your comment Fine" in words
    assert decisions(outbox) == []
    assert all(InviteRequest.get_by_id(i).pending_action is None for i in (offshore, plain))
    # the confirmation's own form carries the selection, the decision and the note, and only it acts
    form = re.search(r'<form method="post" action="/approvals/decide"[^>]*>(.*?)</form>', page.text, re.S).group(1)
    assert re.findall(r'name="ids" value="([^"]+)"', form) == [offshore, plain]
    assert 'name="confirmed" value="yes"' in form and 'name="note" value="Fine"' in form
    assert "Yes, approve these 2 requests" in form
    done = bob_session.post("/approvals/decide", data={"ids": [offshore, plain], "decision": "approve", "note": "Fine",
                                                       "confirmed": "yes"})
    assert "2 of 2 selected requests were approved" in text(done.text)
    assert sorted(d["request_id"] for d in decisions(outbox)) == sorted([offshore, plain])


def test_a_bulk_rejection_asks_to_confirm_too(bob_session, amy, outbox):
    one = submit(amy, OFFICER | {"email": "one@tech.gov.sg"})
    page = bob_session.post("/approvals/decide", data={"ids": [one], "decision": "reject", "note": "Duplicate"})
    words = text(page.text)
    assert "Reject 1 selected request?" in words and "Your reason for rejecting Duplicate" in words
    assert "Yes, reject this request" in words and decisions(outbox) == []


def cancel(amy, invite_id):
    assert amy("POST", f"/api/v1/invites/{invite_id}/cancel").status_code == 202


def expire(invite_id):
    apply(changed(invite_id, 1, "submitted", "expired", "expire"))


def test_bulk_results_say_truly_what_became_of_each_request(bob_session, amy, client, outbox):
    ids = {name: submit(amy, OFFICER | {"email": f"{name}@tech.gov.sg"})
           for name in ("now", "cancelled", "expired", "approved", "rejected", "mine")}
    cancel(amy, ids["cancelled"])
    expire(ids["expired"])
    dana = as_user(client, "dana@tech.gov.sg")
    assert dana("POST", f"/api/v1/invites/{ids['approved']}/approve", json={}).status_code == 202
    assert dana("POST", f"/api/v1/invites/{ids['rejected']}/reject", json={"reason": "No"}).status_code == 202
    apply(changed(ids["rejected"], 1, "submitted", "rejected", "reject", actor="dana@tech.gov.sg"))  # approval applied dana's rejection
    bob = as_user(client, "bob@tech.gov.sg")
    assert bob("POST", f"/api/v1/invites/{ids['mine']}/approve", json={}).status_code == 202
    done = bob_session.post("/approvals/decide", data={"ids": list(ids.values()), "decision": "approve", "confirmed": "yes"})
    page = done.text
    assert "Approved now" in row_of(page, "now@tech.gov.sg")
    assert "Not decided: cancelled by its requester" in row_of(page, "cancelled@tech.gov.sg")
    assert "Not decided: expired before anyone decided on it" in row_of(page, "expired@tech.gov.sg")
    assert "Not decided: already approved by another approver" in row_of(page, "approved@tech.gov.sg")
    assert "Not decided: already rejected by another approver" in row_of(page, "rejected@tech.gov.sg")
    assert "Not decided: already approved by you" in row_of(page, "mine@tech.gov.sg")
    assert "someone has already decided" not in page


def test_a_bulk_form_shown_again_names_the_selected_requests_that_left_the_queue_and_why(bob_session, amy, outbox):
    ids = [submit(amy, OFFICER | {"email": f"r{n}@tech.gov.sg"}) for n in range(3)]
    cancel(amy, ids[1])
    expire(ids[2])
    refused = bob_session.post("/approvals/decide", data={"ids": ids, "decision": "reject", "note": "", "confirmed": "yes"})
    assert refused.status_code == 422 and "Give the reason for rejecting" in refused.text
    note = text(re.search(r'<div class="inset" id="left-queue">(.*?)</div>', refused.text, re.S).group(1)).replace(" :", ":")
    assert "2 of the requests you selected left the queue meanwhile" in note
    assert "r1@tech.gov.sg: cancelled by its requester" in note
    assert "r2@tech.gov.sg: expired before anyone decided on it" in note
    assert "They are no longer selected" in note
    assert re.search(rf'value="{ids[0]}" checked', refused.text)
    # the confirmation page leaves them out too, saying why
    confirm = bob_session.post("/approvals/decide", data={"ids": ids, "decision": "reject", "note": "Duplicate"})
    assert "Reject 1 selected request?" in text(confirm.text)
    assert "r1@tech.gov.sg: cancelled by its requester" in text(confirm.text).replace(" :", ":")
    assert re.findall(r'name="ids" value="([^"]+)"', confirm.text) == [ids[0]]


def test_a_bulk_whose_every_request_left_the_queue_offers_nothing_to_confirm(bob_session, amy, outbox):
    gone = submit(amy, OFFICER | {"email": "gone@tech.gov.sg"})
    cancel(amy, gone)
    page = bob_session.post("/approvals/decide", data={"ids": [gone], "decision": "approve"})
    assert "None of the selected requests waits for your decision" in text(page.text)
    assert 'name="confirmed"' not in page.text and decisions(outbox) == []


def test_the_request_page_reads_what_was_asked_then_the_warnings_then_the_decision(bob_session, amy):
    invite_id = submit(amy, VENDOR)
    page = bob_session.get(f"/approvals/{invite_id}").text
    asked, warnings, decide = (page.index(marker) for marker in ("What was asked", "Check before deciding", 'id="decide-heading"'))
    assert asked < warnings < decide


def test_after_a_decision_the_request_page_follows_it_and_offers_the_next_request(bob_session, amy, outbox):
    first = submit(amy, VENDOR)
    nxt = submit(amy, OFFICER | {"email": "second@tech.gov.sg"})
    waiting = bob_session.get(f"/approvals/{first}").text
    assert "data-settling" not in waiting and 'id="next-request"' not in waiting and "Check before deciding" in waiting
    after = bob_session.post(f"/approvals/{first}/approve", data={"comment": ""}, follow_redirects=True).text
    # the requester's page's mechanism: portal.js reloads a settling panel and the history by itself
    assert re.search(r'<div class="status-panel" data-status-panel data-settling>', after)
    assert "data-history" in after and "data-status-live" in after
    assert "This page updates by itself" in text(after)
    assert "shortly" not in after
    assert "Check before deciding" not in after  # the warnings are for deciding, done now
    assert re.search(rf'href="/approvals/{nxt}">Next request', after)
    apply(changed(first, 1, "submitted", "approved", "approve"))
    settled = bob_session.get(f"/approvals/{first}").text
    assert "data-settling" not in settled and "This page updates by itself" not in text(settled)


def test_the_next_request_is_never_one_the_approver_made_or_that_invites_them(bob_session, amy, client, outbox):
    decided = submit(amy, OFFICER | {"email": "decided@tech.gov.sg"})
    bob = as_user(client, "bob@tech.gov.sg")
    submit(bob, OFFICER | {"email": "bobs.own@tech.gov.sg"})  # bob's own request: another approver's
    submit(amy, OFFICER | {"email": "bob+other@tech.gov.sg"})  # invites bob at another of his addresses
    bob_session.post(f"/approvals/{decided}/approve", data={"comment": ""})
    page = text(bob_session.get(f"/approvals/{decided}").text)
    assert "Next request" not in page
    assert "Nothing else waits for your decision: the queue is empty." in page
    later = submit(amy, OFFICER | {"email": "later@tech.gov.sg"})
    assert f'href="/approvals/{later}">Next request' in bob_session.get(f"/approvals/{decided}").text


def test_the_queues_requester_filter_matches_part_of_an_address_in_any_case(bob_session, portal_app, client):
    amy, amelia = as_user(client, "amy@tech.gov.sg"), as_user(client, "amelia_100@agency.gov.sg")
    submit(amy, OFFICER | {"email": "a1@tech.gov.sg"})
    submit(amelia, OFFICER | {"email": "a2@tech.gov.sg"})
    def listed(value):
        page = bob_session.get("/approvals", query_string={"requester": value})
        assert page.status_code == 200, page.text
        return {e for e in ("a1@tech.gov.sg", "a2@tech.gov.sg") if e in page.text}
    assert listed("amy") == {"a1@tech.gov.sg"}
    assert listed("AM") == {"a1@tech.gov.sg", "a2@tech.gov.sg"}
    assert listed("@agency.gov.sg") == {"a2@tech.gov.sg"}
    assert listed("amy@tech.gov.sg") == {"a1@tech.gov.sg"}
    # % and _ are the letters typed, not wildcards
    assert listed("%") == set() and listed("a_y") == set() and listed("a_1") == {"a2@tech.gov.sg"}
    page = bob_session.get("/approvals", query_string={"clear": "yes"}, follow_redirects=True).text
    assert 'id="filter-requester-hint">Part of an address, such as amy or @tech.gov.sg' in page
    assert 'id="filter-email-hint">Part of an address, such as amy or @vendor.com' in page
    assert 'aria-describedby="filter-requester-hint"' in page
    # the API reads the same filter
    api = as_user(portal_app.test_client(), "bob@tech.gov.sg")("GET", "/api/v1/approvals", query_string={"requester": "amy"})
    assert [i["email"] for i in api.get_json()["items"]] == ["a1@tech.gov.sg"]


def test_the_apis_queue_and_request_give_an_approver_the_warnings_the_page_shows(amy, client):
    offshore = submit(amy, OFFSHORE)
    bob = as_user(client, "bob@tech.gov.sg")
    items = bob("GET", "/api/v1/approvals").get_json()["items"]
    assert any(w.startswith(OFFSHORE_WARNING) for w in items[0]["warnings"])
    one = bob("GET", f"/api/v1/invites/{offshore}").get_json()
    assert one["warnings"] == items[0]["warnings"]
    # the requester reads their request without them: they speak of other people's requests
    assert "warnings" not in amy("GET", f"/api/v1/invites/{offshore}").get_json()
